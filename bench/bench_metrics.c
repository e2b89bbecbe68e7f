/* bench_metrics.c - how fast the domain library turns marks into metrics:
 * incremental apply per mark against a full recompute per pupil, for a
 * school of pupils over a whole school year. Prints its figures; asserts none.
 *   bench_metrics [pupils]   (default 1000) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rollcall/calendar.h"
#include "rollcall/metrics.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

int main(int argc, char **argv)
{
    int pupils = argc > 1 ? atoi(argv[1]) : 1000;
    if (pupils < 1 || pupils > 100000) {
        fprintf(stderr, "usage: bench_metrics [pupils 1..100000]\n");
        return 2;
    }
    calendar_t *cal = calendar_new();
    rc_date_t from, to;
    date_parse("2025-09-03", 10, &from);
    date_parse("2026-07-22", 10, &to);
    calendar_add_term(cal, from, to);

    /* One pupil's year: every open session, 5% absent, 3% amended later. */
    size_t cap = 2 * (size_t)(to - from + 1) + 64, n = 0;
    mark_t *year = malloc(cap * sizeof *year);
    for (rc_date_t d = from; d <= to; d++)
        for (unsigned s = 0; s < 2; s++)
            if (calendar_is_open(cal, d, (session_t)s)) {
                mark_t m = {.urn = "100001",
                            .upn = "B801200005001",
                            .date = d,
                            .session = (session_t)s,
                            .recorded_at = (int64_t)d * 1000};
                m.code = rnd(100) < 5 ? CODE_N : CODE_PRESENT_AM;
                year[n++] = m;
                if (rnd(100) < 3 && n < cap) {
                    m.code = CODE_I;
                    m.recorded_at += 10;
                    year[n++] = m;
                }
            }

    double t0 = now_s();
    size_t state_bytes = 0;
    metrics_t check = {0};
    for (int p = 0; p < pupils; p++) {
        pupil_state_t st;
        pupil_state_init(&st, cal, to);
        for (size_t i = 0; i < n; i++)
            pupil_state_apply(&st, cal, &year[i], NULL);
        state_bytes += sizeof st + st.n * sizeof *st.slots;
        check = st.m;
        pupil_state_release(&st);
    }
    double t1 = now_s();
    metrics_t full = {0};
    for (int p = 0; p < pupils; p++)
        metrics_compute(year, n, cal, to, &full);
    double t2 = now_s();

    double marks = (double)n * pupils;
    printf("bench_metrics: %d pupils x %zu marks (a school year with amendments)\n", pupils, n);
    printf("  incremental apply : %10.0f marks/s\n", marks / (t1 - t0));
    printf("  full recompute    : %10.0f marks/s (%.0f pupil-years/s)\n", marks / (t2 - t1),
           pupils / (t2 - t1));
    printf("  state per pupil   : %10.0f bytes in memory (winning marks, compact)\n",
           (double)state_bytes / pupils);
    printf("  agree             : %s\n", metrics_equal(&check, &full) ? "yes" : "NO");
    free(year);
    calendar_destroy(&cal);
    return metrics_equal(&check, &full) ? 0 : 1;
}
