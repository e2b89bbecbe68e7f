/* test_metrics.c - SPEC section 2 metrics: known answers, the amendment rule,
 * and 10,000 random streams showing incremental apply == full recompute. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_calendar.h"
#include "rollcall/metrics.h"

#define D fx_date

static calendar_t *cal;
static void setup(void)
{
    cal = fx_calendar();
}
static void teardown(void)
{
    calendar_destroy(&cal);
}
TestSuite(metrics, .init = setup, .fini = teardown);

static mark_t mk(const char *date, session_t s, const char *code, int64_t recorded)
{
    mark_t m = {.urn = "100001",
                .upn = "B801200005001",
                .date = D(date),
                .session = s,
                .recorded_at = recorded};
    cr_assert_eq(code_parse(code, strlen(code), &m.code), RC_OK, "%s", code);
    return m;
}

/* apply_all feeds marks to a fresh state and checks it against recompute. */
static metrics_t apply_all(const mark_t *marks, size_t n, rc_date_t today)
{
    pupil_state_t st;
    pupil_state_init(&st, cal, today);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(pupil_state_apply(&st, cal, &marks[i], NULL), RC_OK);
    metrics_t full;
    cr_assert_eq(metrics_compute(marks, n, cal, today, &full), RC_OK);
    cr_assert(metrics_equal(&st.m, &full));
    metrics_t m = st.m;
    pupil_state_release(&st);
    return m;
}

Test(metrics, counts_by_category)
{
    mark_t marks[] = {
        mk("2026-01-05", SESSION_AM, "/", 1),  mk("2026-01-05", SESSION_PM, "\\", 1),
        mk("2026-01-06", SESSION_AM, "L", 1),  mk("2026-01-06", SESSION_PM, "B", 1),
        mk("2026-01-07", SESSION_AM, "I", 1),  mk("2026-01-07", SESSION_PM, "M", 1),
        mk("2026-01-08", SESSION_AM, "G", 1),  mk("2026-01-08", SESSION_PM, "U", 1),
        mk("2026-01-09", SESSION_AM, "D", 1),  mk("2026-01-09", SESSION_PM, "Y1", 1),
        mk("2026-01-12", SESSION_AM, "X", 1),  mk("2026-01-12", SESSION_PM, "#", 1),
        mk("2026-01-13", SESSION_AM, "C1", 1), mk("2026-01-13", SESSION_PM, "O", 1),
    };
    metrics_t m = apply_all(marks, 14, D("2026-01-13"));
    cr_assert_eq(m.possible_sessions, 10);
    cr_assert_eq(m.attended_sessions, 4);
    cr_assert_eq(m.authorised_absences, 3);
    cr_assert_eq(m.unauthorised_absences, 3);
    cr_assert_eq(m.late_before_close, 1);
    cr_assert_eq(m.late_after_close, 1);
    cr_assert_eq(m.penalty_window_unauthorised, 3);
    cr_assert_float_eq(metrics_attendance_pct(&m), 40.0, 1e-9);
    cr_assert(metrics_is_persistent(&m));
    cr_assert(metrics_is_severe(&m)); /* 6 of 10 absent */
}

Test(metrics, pa_and_sa_boundaries)
{
    metrics_t m = {.possible_sessions = 100,
                   .attended_sessions = 90,
                   .authorised_absences = 6,
                   .unauthorised_absences = 4};
    cr_assert(metrics_is_persistent(&m)); /* exactly 10% */
    cr_assert(!metrics_is_severe(&m));
    m.authorised_absences = 5;
    cr_assert(!metrics_is_persistent(&m)); /* 9% */
    m = (metrics_t){.possible_sessions = 10, .authorised_absences = 5};
    cr_assert(metrics_is_severe(&m)); /* exactly 50% */
    m = (metrics_t){0};
    cr_assert(!metrics_has_pct(&m));
    cr_assert(!metrics_is_persistent(&m));
    cr_assert(!metrics_is_severe(&m));
}

Test(metrics, amendment_rule)
{
    pupil_state_t st;
    int changed;
    pupil_state_init(&st, cal, D("2026-01-05"));
    mark_t n = mk("2026-01-05", SESSION_AM, "N", 100);
    mark_t i = mk("2026-01-05", SESSION_AM, "I", 200); /* the parent rang: illness */
    cr_assert_eq(pupil_state_apply(&st, cal, &n, &changed), RC_OK);
    cr_assert(changed);
    cr_assert_eq(st.m.unauthorised_absences, 1);
    cr_assert_eq(pupil_state_apply(&st, cal, &n, &changed), RC_OK); /* exact duplicate */
    cr_assert(!changed);
    cr_assert_eq(st.m.unauthorised_absences, 1);
    cr_assert_eq(pupil_state_apply(&st, cal, &i, &changed), RC_OK);
    cr_assert(changed);
    cr_assert_eq(st.m.unauthorised_absences, 0);
    cr_assert_eq(st.m.authorised_absences, 1);
    cr_assert_eq(st.m.possible_sessions, 1);
    cr_assert_eq(pupil_state_apply(&st, cal, &n, &changed), RC_OK); /* older, late */
    cr_assert(!changed);
    cr_assert_eq(st.m.authorised_absences, 1);
    cr_assert_eq(pupil_state_find(&st, D("2026-01-05"), SESSION_AM)->code, CODE_I);
    cr_assert_null(pupil_state_find(&st, D("2026-01-05"), SESSION_PM));
    /* Same instant, different code: the tie-break does not depend on order. */
    mark_t a = mk("2026-01-06", SESSION_AM, "G", 300), b = mk("2026-01-06", SESSION_AM, "O", 300);
    cr_assert_neq(mark_beats(&a, &b), mark_beats(&b, &a));
    pupil_state_release(&st);
}

Test(metrics, penalty_window_slides)
{
    /* 10 unauthorised sessions in w/c 2 March; 9 school weeks later they still
     * count, a week after that they have left the window. */
    mark_t marks[10];
    const char *days[] = {"2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"};
    for (int i = 0; i < 10; i++)
        marks[i] = mk(days[i / 2], (session_t)(i % 2), i % 3 ? "O" : "G", 1);
    metrics_t m = apply_all(marks, 10, D("2026-03-06"));
    cr_assert_eq(m.penalty_window_unauthorised, 10);
    cr_assert_eq(m.penalty_window_unauthorised >= PENALTY_THRESHOLD, 1);
    /* Ten school weeks ending Fri 22 May: 18, 11, 4 May; 27, 20, 13 Apr;
     * (Easter holiday); 23, 16, 9, 2 Mar. The May half term adds nothing;
     * w/c 1 June pushes w/c 2 March out. */
    pupil_state_t st;
    pupil_state_init(&st, cal, D("2026-03-06"));
    for (int i = 0; i < 10; i++)
        pupil_state_apply(&st, cal, &marks[i], NULL);
    pupil_state_set_today(&st, cal, D("2026-05-22"));
    cr_assert_eq(st.window_start, D("2026-03-02"));
    cr_assert_eq(st.m.penalty_window_unauthorised, 10);
    pupil_state_set_today(&st, cal, D("2026-05-27")); /* half term */
    cr_assert_eq(st.window_start, D("2026-03-02"));
    cr_assert_eq(st.m.penalty_window_unauthorised, 10);
    pupil_state_set_today(&st, cal, D("2026-06-01"));
    cr_assert_eq(st.window_start, D("2026-03-09"));
    cr_assert_eq(st.m.penalty_window_unauthorised, 0);
    pupil_state_set_today(&st, cal, D("2026-05-15")); /* and back again */
    cr_assert_eq(st.window_start, D("2026-02-23"));
    cr_assert_eq(st.m.penalty_window_unauthorised, 10);
    pupil_state_release(&st);
}

Test(metrics, unexplained_days_run)
{
    /* N all day Thu 15, Fri 16, Mon 19 Jan; Wed 14 present. Then today is
     * Tue 20 with only the morning taken, N: 4 days. */
    mark_t marks[] = {
        mk("2026-01-14", SESSION_AM, "/", 1), mk("2026-01-14", SESSION_PM, "N", 1),
        mk("2026-01-15", SESSION_AM, "N", 1), mk("2026-01-15", SESSION_PM, "N", 1),
        mk("2026-01-16", SESSION_AM, "N", 1), mk("2026-01-16", SESSION_PM, "N", 1),
        mk("2026-01-19", SESSION_AM, "N", 1), mk("2026-01-19", SESSION_PM, "N", 1),
        mk("2026-01-20", SESSION_AM, "N", 1),
    };
    cr_assert_eq(apply_all(marks, 9, D("2026-01-20")).consecutive_unexplained_days, 4);
    cr_assert_eq(apply_all(marks, 9, D("2026-01-19")).consecutive_unexplained_days, 3);
    cr_assert_eq(apply_all(marks, 9, D("2026-01-18")).consecutive_unexplained_days, 2); /* Sun */
    /* A past day with a session not taken breaks the run. */
    cr_assert_eq(apply_all(marks, 8, D("2026-01-21")).consecutive_unexplained_days, 0);
    /* Amend Friday afternoon to illness: the run restarts on Monday. */
    mark_t amended[10];
    memcpy(amended, marks, sizeof marks);
    amended[9] = mk("2026-01-16", SESSION_PM, "I", 2);
    cr_assert_eq(apply_all(amended, 10, D("2026-01-20")).consecutive_unexplained_days, 2);
    /* Across the February half term the run continues. */
    mark_t ht[] = {
        mk("2026-02-13", SESSION_AM, "N", 1),
        mk("2026-02-13", SESSION_PM, "N", 1),
        mk("2026-02-23", SESSION_AM, "N", 1),
        mk("2026-02-23", SESSION_PM, "N", 1),
    };
    cr_assert_eq(apply_all(ht, 4, D("2026-02-23")).consecutive_unexplained_days, 2);
}

Test(metrics, year_to_date_resets_in_september)
{
    mark_t marks[] = {mk("2026-07-20", SESSION_AM, "O", 1), mk("2026-09-02", SESSION_AM, "/", 1)};
    metrics_t july = apply_all(marks, 2, D("2026-07-21"));
    cr_assert_eq(july.possible_sessions, 1);
    cr_assert_eq(july.unauthorised_absences, 1);
    metrics_t sept = apply_all(marks, 2, D("2026-09-04"));
    cr_assert_eq(sept.possible_sessions, 1);
    cr_assert_eq(sept.attended_sessions, 1);
    cr_assert_eq(sept.unauthorised_absences, 0);
    cr_assert_eq(sept.penalty_window_unauthorised, 1); /* the window spans school years */
}

/* ---- randomized: incremental == recompute ---- */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    /* xorshift64*: reproducible from the seed printed on failure. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

static att_code_t random_code(void)
{
    /* Weighted towards what registers hold: present, N, then everything. */
    uint32_t r = rnd(10);
    if (r < 3)
        return rnd(2) ? CODE_PRESENT_AM : CODE_PRESENT_PM;
    if (r < 6)
        return CODE_N;
    if (r < 7)
        return rnd(2) ? CODE_G : CODE_O;
    return (att_code_t)rnd(CODE__COUNT);
}

#define MAX_STREAM 400

Test(metrics, incremental_equals_recompute_10000_streams, .timeout = 300)
{
    rc_date_t first = calendar_first_day(cal), last = calendar_last_day(cal);
    uint64_t seed = 0x5eed0001;
    static mark_t stream[MAX_STREAM];
    int compared = 0;
    for (int s = 0; s < 10000; s++) {
        rng_state = seed + (uint64_t)s * 0x9E3779B97F4A7C15ULL;
        /* A stretch of the register around a random today, mostly N runs. */
        rc_date_t today = first + (rc_date_t)rnd((uint32_t)(last - first + 30));
        rc_date_t from = today - (rc_date_t)rnd(120);
        size_t n = 0;
        int run_n = rnd(3) == 0; /* a stream that is one long run of N */
        for (rc_date_t d = from; d <= today + 3 && n < MAX_STREAM - 8; d++) {
            unsigned open = calendar_open_mask(cal, d);
            for (unsigned ss = 0; ss < 2; ss++) {
                if (!(open & SESS_BIT(ss)) || rnd(8) == 0)
                    continue; /* some sessions never arrive */
                mark_t m = {.urn = "100001",
                            .upn = "B801200005001",
                            .date = d,
                            .session = (session_t)ss,
                            .code = run_n && rnd(20) ? CODE_N : random_code(),
                            .minutes_late = (uint16_t)rnd(3),
                            .recorded_at = (int64_t)d * RC_USEC_PER_DAY + rnd(1000)};
                stream[n++] = m;
                if (rnd(4) == 0) { /* an amendment, later or earlier */
                    m.code = random_code();
                    m.recorded_at += (int64_t)rnd(2000) - 1000;
                    stream[n++] = m;
                }
                if (rnd(6) == 0) { /* the same mark twice */
                    stream[n] = stream[n - 1];
                    n++;
                }
            }
        }
        for (size_t i = n; i > 1; i--) { /* shuffle: arrival order is anything */
            size_t j = rnd((uint32_t)i);
            mark_t t = stream[i - 1];
            stream[i - 1] = stream[j];
            stream[j] = t;
        }
        pupil_state_t st;
        rc_date_t eval = today - (rc_date_t)rnd(30);
        pupil_state_init(&st, cal, eval);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(pupil_state_apply(&st, cal, &stream[i], NULL), RC_OK);
            if (rnd(16) == 0) { /* the clock moves, either way, mid-stream */
                eval = today - (rc_date_t)rnd(200) + 100;
                pupil_state_set_today(&st, cal, eval);
            }
            if (rnd(32) == 0 || i + 1 == n) {
                metrics_t full;
                cr_assert_eq(metrics_compute(stream, i + 1, cal, eval, &full), RC_OK);
                cr_assert(metrics_equal(&st.m, &full),
                          "stream %d (seed %llx) after %zu marks, today %d: incremental "
                          "possible=%u unauth=%u window=%u run=%u vs recompute %u %u %u %u",
                          s, (unsigned long long)seed, i + 1, eval, st.m.possible_sessions,
                          st.m.unauthorised_absences, st.m.penalty_window_unauthorised,
                          st.m.consecutive_unexplained_days, full.possible_sessions,
                          full.unauthorised_absences, full.penalty_window_unauthorised,
                          full.consecutive_unexplained_days);
                compared++;
            }
        }
        pupil_state_release(&st);
    }
    cr_assert_geq(compared, 10000);
    cr_log_info("compared %d checkpoints over 10000 streams", compared);
}

Test(metrics, stored_form_round_trips)
{
    mark_t marks[] = {mk("2026-01-14", SESSION_PM, "N", 1), mk("2026-01-14", SESSION_AM, "L", 2),
                      mk("2026-01-15", SESSION_AM, "C1", 3), mk("2026-01-15", SESSION_AM, "I", 4)};
    marks[1].minutes_late = 17;
    pupil_state_t st, back;
    pupil_state_init(&st, cal, D("2026-01-15"));
    for (int i = 0; i < 4; i++)
        pupil_state_apply(&st, cal, &marks[i], NULL);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(pupil_state_encode(&st, &buf, &len), RC_OK);
    cr_assert_eq(len, 1 + 3 * PUPIL_STATE_SLOT_BYTES);
    cr_assert_eq(pupil_state_decode(&back, cal, D("2026-01-15"), buf, len), RC_OK);
    cr_assert(metrics_equal(&st.m, &back.m));
    cr_assert_eq(back.n, 3);
    cr_assert_eq(pupil_state_find(&back, D("2026-01-14"), SESSION_AM)->minutes_late, 17);
    cr_assert_eq(pupil_state_find(&back, D("2026-01-15"), SESSION_AM)->code, CODE_I);
    cr_assert_eq(pupil_state_find(&back, D("2026-01-15"), SESSION_AM)->recorded_at, 4);
    pupil_state_release(&back);
    /* Anything else is refused, never half-read. */
    buf[0] = 2;
    cr_assert_eq(pupil_state_decode(&back, cal, D("2026-01-15"), buf, len), RC_EPARSE);
    cr_assert_eq(back.n, 0);
    buf[0] = PUPIL_STATE_VERSION;
    cr_assert_eq(pupil_state_decode(&back, cal, D("2026-01-15"), buf, len - 1), RC_EPARSE);
    buf[1 + PUPIL_STATE_SLOT_BYTES + 5] = CODE__COUNT; /* a code out of range */
    cr_assert_eq(pupil_state_decode(&back, cal, D("2026-01-15"), buf, len), RC_EPARSE);
    buf[1 + PUPIL_STATE_SLOT_BYTES + 5] = CODE_L;
    memcpy(buf + 1 + PUPIL_STATE_SLOT_BYTES, buf + 1, 4); /* out of order: same date again */
    buf[1 + PUPIL_STATE_SLOT_BYTES + 4] = SESSION_AM;
    buf[1 + 4] = SESSION_PM;
    cr_assert_eq(pupil_state_decode(&back, cal, D("2026-01-15"), buf, len), RC_EPARSE);
    free(buf);
    pupil_state_release(&st);
}
