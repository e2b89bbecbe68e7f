/* test_import_e2e.c - the rollcall CLI against the real ingest service: a
 * whole trust imported in chunks, re-imports stored once, rejected rows
 * reported at their lines in the user's file, and the exit codes. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

static ts_redis_t redis;
static ts_proc_t ingest;
static char url[64], dir[80];

static void setup(void)
{
    ts_redis_start(&redis, 1);
    int http = ts_free_port(), pub = ts_free_port();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", http);
    ts_start_ingest(&ingest, &redis, http, pub, NULL);
    snprintf(dir, sizeof dir, "%s/demo", redis.dir);
    ts_demo_data(dir);
}

static void teardown(void)
{
    ts_proc_stop(&ingest, SIGTERM, 5000);
    ts_redis_stop(&redis);
}

TestSuite(import_e2e, .init = setup, .fini = teardown, .timeout = 120);

/* import runs `rollcall import` and returns its exit status, its stdout in out. */
static int import(const char *kind, const char *file, const char *extra, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' import %s '%s' --url %s --quiet %s 2>&1",
             ts_binary("cli/rollcall"), kind, file, url, extra ? extra : "");
    return ts_run(cmd, out, cap);
}

Test(import_e2e, a_whole_trust_in_chunks_then_again)
{
    static char out[65536];
    const char *kinds[] = {"schools", "calendar", "pupils", "contacts", "marks"};
    const long rows[] = {3, 9, 120, 336, 3120};
    for (int i = 0; i < 5; i++) {
        char file[128];
        snprintf(file, sizeof file, "%s/%s.csv", dir, kinds[i]);
        int st = import(kinds[i], file, "--chunk-rows 500", out, sizeof out);
        cr_assert_eq(st, 0, "%s exited %d:\n%s", kinds[i], st, out);
        cr_assert_eq(ts_count_of(out, "received:"), rows[i], "%s", out);
        cr_assert_eq(ts_count_of(out, "accepted:"), rows[i], "%s", out);
    }
    char file[128];
    snprintf(file, sizeof file, "%s/marks.csv", dir);
    cr_assert_eq(import("marks", file, NULL, out, sizeof out), 0, "%s", out);
    cr_assert_eq(ts_count_of(out, "accepted:"), 0, "%s", out);
    cr_assert_eq(ts_count_of(out, "duplicates:"), 3120, "%s", out);
}

Test(import_e2e, rejections_at_the_lines_of_the_file)
{
    static char out[65536];
    const char *kinds[] = {"schools", "calendar", "pupils"};
    for (int i = 0; i < 3; i++) {
        char file[128];
        snprintf(file, sizeof file, "%s/%s.csv", dir, kinds[i]);
        cr_assert_eq(import(kinds[i], file, NULL, out, sizeof out), 0, "%s", out);
    }
    /* A CRLF file whose quoted (blank) field spans two lines; bad rows at
     * lines 6 and 9 of the file, which the chunks of 3 rows must not blur. */
    char file[128];
    snprintf(file, sizeof file, "%s/bad.csv", redis.dir);
    FILE *f = fopen(file, "w");
    fputs("urn,upn,date,session,code,minutes_late,recorded_at\r\n", f);
    fputs("100101,R909200125001,2026-09-02,AM,/,,2026-09-02T08:55:00+01:00\r\n", f);
    fputs("100101,R909200125001,2026-09-02,PM,\"\\\",,2026-09-02T13:20:00+01:00\r\n", f);
    fputs("100101,R909200125001,2026-09-03,AM,/,\"\r\n\",2026-09-03T08:55:00+01:00\r\n", f);
    fputs("100101,R909200125001,2026-09-03,PM,A,,2026-09-03T13:20:00+01:00\r\n", f); /* line 6 */
    fputs("100101,R909200125001,2026-09-04,AM,/,,2026-09-04T08:55:00+01:00\r\n", f);
    fputs("100101,R909200125001,2026-09-04,PM,\\,,2026-09-04T13:20:00+01:00\r\n", f);
    fputs("100101,R909200125001,2026-09-05,AM,/,,2026-09-05T08:55:00+01:00\r\n", f); /* line 9 */
    fclose(f);
    int st = import("marks", file, "--chunk-rows 3", out, sizeof out);
    cr_assert_eq(st, 1, "rows were rejected, so exit 1:\n%s", out);
    cr_assert_eq(ts_count_of(out, "received:"), 7, "%s", out);
    cr_assert_eq(ts_count_of(out, "rejected:"), 2, "%s", out);
    cr_assert_eq(ts_count_of(out, "accepted:"), 5, "%s", out);
    cr_assert(strstr(out, "line 6, column code"), "%s", out);
    cr_assert(strstr(out, "line 9, column date"), "Saturday:\n%s", out);
    cr_assert_null(strstr(out, "R909200125001"), "a UPN printed:\n%s", out);
}

Test(import_e2e, broken_file_and_unreachable_ingest)
{
    static char out[8192];
    char file[128];
    snprintf(file, sizeof file, "%s/header.csv", redis.dir);
    FILE *f = fopen(file, "w");
    fputs("urn,upn,date,sesion,code,minutes_late,recorded_at\n100101,x,y,z,/,,t\n", f);
    fclose(f);
    cr_assert_eq(import("marks", file, NULL, out, sizeof out), 4, "%s", out);
    cr_assert(strstr(out, "line 1, column session"), "%s", out);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ts_free_port());
    snprintf(file, sizeof file, "%s/schools.csv", dir);
    cr_assert_eq(import("schools", file, NULL, out, sizeof out), 3, "%s", out);
}
