/* test_replay_cli.c - `rollcall replay` and scripts/gen-year.sh: the scanner and the
 * send loop with fake posters (order, chunks, lines, progress), then the real
 * binary against the real ingest in replay mode: a generated fortnight replayed
 * with every tick in each school's log where the file puts it, rejected rows at
 * their lines, a clock going back, a clock ingest refuses; and the generator's
 * files the same on every run. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "replay.h"
#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "testsupport.h"

#define HDR REPLAY_MARKS_HEADER "\n"
#define UPN "X909001250001" /* gen-year.sh's first pupil of its first school */
#define ROW(date, sess, code, time)                                                                \
    "100201," UPN "," date "," sess "," code ",," date "T" time "+01:00\n"

static rc_time_t instant(const char *s)
{
    rc_time_t t = 0;
    cr_assert_eq(time_parse_iso(s, strlen(s), &t, NULL), RC_OK, "%s", s);
    return t;
}

/* ---- the scanner ---- */

typedef struct {
    char csv[4096]; /* the CSV text handed on, concatenated */
    size_t csv_len;
    char clocks[512]; /* "line:text;" per clock line */
    char bad[512];    /* "line:message" of the break, if any */
} scanned_t;

static void take_piece(scanned_t *out, replay_next_t k, const replay_piece_t *p)
{
    char one[128];
    switch (k) {
    case REPLAY_ROWS:
        cr_assert_lt(out->csv_len + p->len, sizeof out->csv);
        memcpy(out->csv + out->csv_len, p->data, p->len);
        out->csv_len += p->len;
        out->csv[out->csv_len] = '\0';
        break;
    case REPLAY_CLOCK:
        snprintf(one, sizeof one, "%zu:%s;", p->line, p->text);
        strcat(out->clocks, one);
        break;
    case REPLAY_BAD:
        snprintf(out->bad, sizeof out->bad, "%zu:%s", p->line, p->message);
        break;
    default:
        break;
    }
}

/* scan runs the scanner over in, block bytes at a time. */
static scanned_t scan(const char *in, size_t block)
{
    scanned_t out;
    replay_scanner_t sc;
    replay_piece_t p;
    replay_next_t k;
    size_t len = strlen(in);

    memset(&out, 0, sizeof out);
    replay_scanner_init(&sc);
    for (size_t at = 0; at < len && !out.bad[0]; at += block) {
        size_t n = len - at < block ? len - at : block, pos = 0;
        while (!out.bad[0] && (k = replay_scanner_next(&sc, in + at, n, &pos, &p)) != REPLAY_MORE)
            take_piece(&out, k, &p);
    }
    if (!out.bad[0] && (k = replay_scanner_end(&sc, &p)) != REPLAY_MORE)
        take_piece(&out, k, &p);
    return out;
}

Test(replay_scanner, clock_and_comment_lines_become_blank_lines_in_any_blocks)
{
    const char *in = "\xEF\xBB\xBF" HDR                                 /* 1: header after a BOM */
                     "# the first day\n"                                /* 2 */
                     "100201,X,2025-09-03,AM,/,,t\n"                    /* 3 */
                     "@2025-09-03T09:30:00+01:00\r\n"                   /* 4: CRLF */
                     "100201,X,2025-09-03,AM,I,\"a\n@not a clock\",t\n" /* 5-6: quoted */
                     "\n"                                               /* 7 */
                     "@ 2025-09-03T16:00:00+01:00 \n"                   /* 8: blanks around */
                     "@2025-09-03T16:00:00+01:00";                      /* 9: the same, no LF */
    const char *want_csv = "\xEF\xBB\xBF" HDR "\n"
                           "100201,X,2025-09-03,AM,/,,t\n"
                           "\n"
                           "100201,X,2025-09-03,AM,I,\"a\n@not a clock\",t\n"
                           "\n"
                           "\n";
    const char *want_clocks =
        "4:2025-09-03T09:30:00+01:00;8:2025-09-03T16:00:00+01:00;9:2025-09-03T16:00:00+01:00;";
    size_t blocks[] = {1, 2, 3, 7, 4096};
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++) {
        scanned_t s = scan(in, blocks[i]);
        cr_assert_str_empty(s.bad, "block %zu: %s", blocks[i], s.bad);
        cr_assert_str_eq(s.csv, want_csv, "block %zu", blocks[i]);
        cr_assert_str_eq(s.clocks, want_clocks, "block %zu", blocks[i]);
    }
}

Test(replay_scanner, broken_clock_lines_are_named_by_their_line)
{
    scanned_t s = scan("# no header yet\n@2025-09-03T09:30:00+01:00\n" HDR, 4096);
    cr_assert(strstr(s.bad, "2:a clock line before the header row"), "%s", s.bad);

    s = scan(HDR "@2025-09-03 09:30\n", 5);
    cr_assert(strstr(s.bad, "2:'@2025-09-03 09:30' is not a clock line"), "%s", s.bad);

    s = scan(HDR "@2025-09-03T09:30:00+01:00\n@2025-09-03T09:30:00+01:00\n\n"
                 "@2025-09-03T08:29:59Z\n",
             3);
    cr_assert(strstr(s.bad, "5:the clock goes back: 2025-09-03T08:29:59Z is earlier than "
                            "2025-09-03T09:30:00+01:00 on line 3"),
              "%s", s.bad);

    s = scan(HDR
             "@2025-09-03T09:30:00.000000000000000000000000000000000000000000000000000000+01:00\n",
             4096);
    cr_assert(strstr(s.bad, "2:a clock line is '@' and one instant"), "%s", s.bad);
}

/* ---- the send loop, with fake posters ---- */

typedef struct {
    char calls[1024]; /* "M<rows>" per marks post, "C" per clock post */
    char clock_bodies[512];
    long clock_status; /* answer to the clock; 200 unless a test sets it */
    int clock_calls;
    char reply[2048];
} fake_t;

/* fake_marks answers like ingest: every row accepted, except those with
 * code A, rejected at their line in the body. */
static void fake_marks(void *ctx, const char *ctype, const char *body, size_t len,
                       import_reply_t *rep)
{
    fake_t *f = ctx;
    size_t line = 1, rows = 0, bad = 0;
    char rejected[1024] = "", one[96];

    cr_assert_str_eq(ctype, "text/csv");
    cr_assert(len > strlen(REPLAY_MARKS_HEADER) &&
              strncmp(body, REPLAY_MARKS_HEADER "\n", strlen(REPLAY_MARKS_HEADER) + 1) == 0);
    for (const char *p = body, *end = body + len; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (line > 1 && n > 0) {
            rows++;
            char row[256];
            snprintf(row, sizeof row, "%.*s", (int)n, p);
            if (strstr(row, ",A,")) {
                snprintf(one, sizeof one,
                         "%s{\"line\":%zu,\"column\":\"code\",\"reason\":\"no A\"}",
                         bad++ ? "," : "", line);
                strcat(rejected, one);
            }
        }
        p += n + 1;
    }
    snprintf(one, sizeof one, "M%zu ", rows);
    strcat(f->calls, one);
    snprintf(f->reply, sizeof f->reply,
             "{\"received\":%zu,\"accepted\":%zu,\"duplicates\":0,\"superseded\":0,"
             "\"rejected\":[%s]}",
             rows, rows - bad, rejected);
    memset(rep, 0, sizeof *rep);
    rep->status = bad == rows && rows ? 422 : 200;
    rep->body = f->reply;
    rep->len = strlen(f->reply);
}

static void fake_clock(void *ctx, const char *ctype, const char *body, size_t len,
                       import_reply_t *rep)
{
    fake_t *f = ctx;
    cr_assert_str_eq(ctype, "application/json");
    strcat(f->calls, "C ");
    strncat(f->clock_bodies, body, len);
    strcat(f->clock_bodies, ";");
    f->clock_calls++;
    memset(rep, 0, sizeof *rep);
    rep->status = f->clock_status ? f->clock_status : 200;
    snprintf(f->reply, sizeof f->reply,
             rep->status == 200 ? "{\"now\":\"x\",\"moved\":true,\"schools\":1}"
                                : "{\"error\":\"the clock cannot go back: it is already later\"}");
    rep->body = f->reply;
    rep->len = strlen(f->reply);
}

static uint64_t fake_ms;
static uint64_t fake_now(void)
{
    return fake_ms += 6000; /* every call is past the plain progress interval */
}
static void fake_sleep(unsigned ms)
{
    (void)ms;
}

typedef struct {
    int status;
    char *out, *err;
} ran_t;

static ran_t run(const char *input, size_t rows, fake_t *f, int progress)
{
    replay_opts_t o = {.path = "year.txt", .url = IMPORT_DEFAULT_URL, .chunk_rows = rows};
    ran_t r = {0};
    size_t olen, elen;
    FILE *in = fmemopen((void *)input, strlen(input), "r");
    FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);
    import_io_t io = {.out = out,
                      .err = err,
                      .progress = progress,
                      .target = "POST http://127.0.0.1:8081/v1/marks",
                      .now_ms = fake_now,
                      .sleep_ms = fake_sleep,
                      .bytes_total = strlen(input),
                      .command = "replay"};
    replay_posters_t posters = {.marks = fake_marks,
                                .marks_ctx = f,
                                .clock = fake_clock,
                                .clock_ctx = f,
                                .clock_target = "POST http://127.0.0.1:8081/v1/clock"};
    r.status = replay_run(&o, in, &posters, &io);
    fclose(in);
    fclose(out);
    fclose(err);
    return r;
}

static void ran_free(ran_t *r)
{
    free(r->out);
    free(r->err);
}

Test(replay_run, rows_and_clock_lines_go_strictly_in_file_order)
{
    fake_t f = {0};
    const char *in =
        HDR ROW("2025-09-03", "AM", "/", "08:45:00") ROW("2025-09-04", "AM", "/", "08:45:00")
            ROW("2025-09-05", "AM", "/",
                "08:45:00") "@2025-09-05T09:30:00+01:00\n"
                            "@2025-09-05T16:00:00+01:00\n" ROW(
                                "2025-09-05", "PM", "\\",
                                "13:15:00") "# a comment\n" ROW("2025-09-08", "AM", "/",
                                                                "08:45:00") "@2025-09-08T09:30:00+"
                                                                            "01:00\n";
    ran_t r = run(in, 2, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_OK, "%s%s", r.out, r.err);
    cr_assert_str_eq(f.calls, "M2 M1 C C M2 C ", "%s", f.calls);
    cr_assert_str_eq(
        f.clock_bodies,
        "{\"now\":\"2025-09-05T09:30:00+01:00\"};{\"now\":\"2025-09-05T16:00:00+01:00\"};"
        "{\"now\":\"2025-09-08T09:30:00+01:00\"};");
    cr_assert(strstr(r.out, "received:   5\n"), "%s", r.out);
    cr_assert(strstr(r.out, "superseded: 0\n"), "%s", r.out);
    cr_assert(strstr(r.out, "clock:      3 lines (3 moved it), last 2025-09-08T09:30:00+01:00 "
                            "(line 10)"),
              "%s", r.out);
    cr_assert_str_empty(r.err, "%s", r.err);
    ran_free(&r);
}

Test(replay_run, rejected_rows_at_the_lines_of_the_file)
{
    fake_t f = {0};
    const char *in = HDR "# line 2\n" ROW("2025-09-03", "AM", "/", "08:45:00") /* 3 */
        "@2025-09-03T09:30:00+01:00\n"                                         /* 4 */
        ROW("2025-09-03", "PM", "A", "13:15:00")                               /* 5 */
        "# line 6\n"                                                           /* 6 */
        "\n"                                                                   /* 7 */
        ROW("2025-09-04", "AM", "/", "08:45:00")                               /* 8 */
        ROW("2025-09-04", "PM", "A", "13:15:00")                               /* 9 */
        "@2025-09-04T16:00:00+01:00\n"                                         /* 10 */
        ROW("2025-09-05", "AM", "A", "08:45:00");                              /* 11, no LF */
    for (size_t rows = 1; rows <= 3; rows++) {
        memset(&f, 0, sizeof f);
        ran_t r = run(in, rows, &f, 0);
        cr_assert_eq(r.status, IMPORT_EXIT_REJECTED, "%s%s", r.out, r.err);
        cr_assert(strstr(r.out, "rejected:   3\n"), "%s", r.out);
        cr_assert(strstr(r.out, "line 5, column code: no A\nline 9, column code: no A\n"
                                "line 11, column code: no A\n"),
                  "chunks of %zu:\n%s", rows, r.out);
        cr_assert_eq(f.clock_calls, 2, "the replay goes on after rejected rows");
        ran_free(&r);
    }
}

Test(replay_run, a_clock_going_back_stops_there_after_the_rows_before_it)
{
    fake_t f = {0};
    const char *in =
        HDR ROW("2025-09-03", "AM", "/", "08:45:00") "@2025-09-03T09:30:00+01:00\n" ROW(
            "2025-09-03", "PM", "\\", "13:15:00") "@2025-09-03T09:29:00+01:00\n" /* line 5 */
        ROW("2025-09-04", "AM", "/", "08:45:00") "@2025-09-04T09:30:00+01:00\n";
    ran_t r = run(in, 100, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_BROKEN, "%s%s", r.out, r.err);
    cr_assert_str_eq(f.calls, "M1 C M1 ", "%s", f.calls);
    cr_assert(strstr(r.err, "rollcall replay: year.txt: line 5: the clock goes back"), "%s", r.err);
    cr_assert(strstr(r.err, "ingest's clock is at 2025-09-03T09:30:00+01:00 (line 3)"), "%s",
              r.err);
    ran_free(&r);
}

Test(replay_run, a_refused_clock_stops_the_replay_naming_its_line)
{
    fake_t f = {.clock_status = 409};
    const char *in =
        HDR ROW("2025-09-03", "AM", "/", "08:45:00") "\n@2025-09-03T09:30:00+01:00\n" ROW(
            "2025-09-03", "PM", "\\", "13:15:00");
    ran_t r = run(in, 100, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_FAILED, "%s%s", r.out, r.err);
    cr_assert_str_eq(f.calls, "M1 C ", "%s", f.calls);
    cr_assert(strstr(r.err, "year.txt: line 4: ingest refused to move its clock to "
                            "2025-09-03T09:30:00+01:00 (HTTP 409): the clock cannot go back"),
              "%s", r.err);
    ran_free(&r);

    memset(&f, 0, sizeof f);
    f.clock_status = 500;
    r = run(in, 100, &f, 0);
    cr_assert_eq(r.status, IMPORT_EXIT_FAILED, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "year.txt: line 4: POST http://127.0.0.1:8081/v1/clock: HTTP 500"),
              "%s", r.err);
    ran_free(&r);
}

Test(replay_run, progress_shows_rows_per_second_and_the_clock)
{
    fake_t f = {0};
    const char *in =
        HDR ROW("2025-09-03", "AM", "/", "08:45:00") "@2025-09-03T09:30:00+01:00\n" ROW(
            "2025-09-03", "PM", "\\", "13:15:00") "@2025-09-03T16:00:00+01:00\n";
    ran_t r = run(in, 100, &f, 2);
    cr_assert_eq(r.status, IMPORT_EXIT_OK, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "rollcall replay: "), "%s", r.err);
    cr_assert(strstr(r.err, " rows/s, clock 2025-09-03 16:00"), "%s", r.err);
    ran_free(&r);

    import_progress_t p = {.bytes_done = 50,
                           .bytes_total = 100,
                           .rows_sent = 10,
                           .elapsed_ms = 1000,
                           .command = "replay",
                           .clock = "2025-09-03T09:30:00+01:00"};
    char buf[200];
    import_progress_format(buf, sizeof buf, &p, 1);
    cr_assert_str_eq(buf,
                     "[######......]  50%  10 rows  10 rows/s  clock 2025-09-03 09:30  ETA 1s");
}

Test(replay_run, arguments)
{
    replay_opts_t o;
    char err[200];
    char *ok[] = {"replay", "year.txt", "--url=http://h:1", "--chunk-rows", "50", "-q"};
    cr_assert_eq(replay_parse_args(6, ok, NULL, &o, err, sizeof err), RC_OK, "%s", err);
    cr_assert_str_eq(o.path, "year.txt");
    cr_assert_str_eq(o.url, "http://h:1");
    cr_assert_eq(o.chunk_rows, 50);
    cr_assert(o.quiet);
    char *env[] = {"replay", "-"};
    cr_assert_eq(replay_parse_args(2, env, "http://e:2", &o, err, sizeof err), RC_OK);
    cr_assert_str_eq(o.url, "http://e:2");
    cr_assert_eq(o.chunk_rows, IMPORT_DEFAULT_ROWS);
    char *none[] = {"replay"};
    cr_assert_eq(replay_parse_args(1, none, NULL, &o, err, sizeof err), RC_EINVAL);
    cr_assert_str_eq(err, "FILE is missing");
    char *rows[] = {"replay", "f", "--chunk-rows", "0"};
    cr_assert_eq(replay_parse_args(4, rows, NULL, &o, err, sizeof err), RC_EINVAL);
    char *two[] = {"replay", "f", "g"};
    cr_assert_eq(replay_parse_args(3, two, NULL, &o, err, sizeof err), RC_EINVAL);
}

/* ---- gen-year.sh ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sh runs a shell command; returns its exit status. */
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(gen_year, the_same_files_every_run_and_a_range_is_a_slice_of_the_year, .timeout = 60)
{
    char tmp[] = "/tmp/rollcall-genyear-XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    char a[96], b[96], c[96];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    snprintf(c, sizeof c, "%s/c", tmp);
    cr_assert_eq(sh("%s/scripts/gen-year.sh '%s' >/dev/null", ROLLCALL_SOURCE_DIR, a), 0);
    cr_assert_eq(sh("%s/scripts/gen-year.sh '%s' >/dev/null", ROLLCALL_SOURCE_DIR, b), 0);
    cr_assert_eq(sh("for f in schools calendar pupils contacts replay; do "
                    "cmp '%s/'$f.* '%s/'$f.* || exit 1; done",
                    a, b),
                 0, "gen-year.sh wrote different files twice");
    cr_assert_eq(sh("%s/scripts/gen-year.sh '%s' --from 2025-09-03 --to 2025-09-19 >/dev/null",
                    ROLLCALL_SOURCE_DIR, c),
                 0);
    /* The fortnight is the year's first fortnight, up to its last clock line. */
    cr_assert_eq(sh("grep -v '^#' '%s/replay.txt' > '%s/short'", c, tmp), 0);
    cr_assert_eq(
        sh("sed -n '1,/^@2025-09-19T16:00/p' '%s/replay.txt' | grep -v '^#' > '%s/long'", a, tmp),
        0);
    cr_assert_eq(sh("cmp '%s/short' '%s/long'", tmp, tmp), 0);
    cr_assert_neq(
        sh("%s/scripts/gen-year.sh '%s' --from 2025-02-30 2>/dev/null", ROLLCALL_SOURCE_DIR, c), 0,
        "no such day");
    sh("rm -rf '%s'", tmp);
}

/* ---- against the real ingest ---- */

static ts_redis_t redis;
static ts_proc_t ingest;
static char url[64], dir[96], year[128];

static void setup(void)
{
    ts_redis_start(&redis, 1);
    int http = ts_free_port(), pub = ts_free_port();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", http);
    ts_start_ingest(&ingest, &redis, http, pub, NULL);
    snprintf(dir, sizeof dir, "%s/year", redis.dir);
    snprintf(year, sizeof year, "%s/replay.txt", dir);
    cr_assert_eq(sh("%s/scripts/gen-year.sh '%s' --schools 2 --pupils 10 --from 2025-09-03 --to "
                    "2025-09-19 >/dev/null",
                    ROLLCALL_SOURCE_DIR, dir),
                 0);
}

static void teardown(void)
{
    ts_proc_stop(&ingest, SIGTERM, 5000);
    ts_redis_stop(&redis);
}

TestSuite(replay_e2e, .init = setup, .fini = teardown, .timeout = 120);

/* rollcall runs the binary with args (and --url), its output (both streams) in out. */
static int rollcall(const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s --url %s 2>&1", ts_binary("cli/rollcall"), args, url);
    return ts_run(cmd, out, cap);
}

static void load_reference_data(void)
{
    static char out[8192];
    const char *kinds[] = {"schools", "calendar", "pupils", "contacts"};
    for (int i = 0; i < 4; i++) {
        char args[256];
        snprintf(args, sizeof args, "import %s '%s/%s.csv' --quiet", kinds[i], dir, kinds[i]);
        cr_assert_eq(rollcall(args, out, sizeof out), 0, "%s: %s", kinds[i], out);
        cr_assert(strstr(out, "rejected:   0\n"), "%s", out);
    }
}

static redisReply *redis_cmd(const char *fmt, const char *arg)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, fmt, arg);
    cr_assert_not_null(r);
    redisFree(c);
    return r;
}

static long long clock_held(void)
{
    redisReply *r = redis_cmd("GET %s", "rc:clock");
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

/* One entry a school's log should hold, in order: a mark (upn, when
 * recorded) or a tick (when). */
typedef struct {
    char kind; /* 'M' or 'T' */
    char upn[RC_UPN_LEN + 1];
    rc_time_t at;
} entry_t;

/* expect reads FILE as ingest should have logged it for urn: each row the
 * first time it is seen (an exact duplicate is not stored again; an older
 * one is, flagged superseded), each clock line that moves the clock. */
static size_t expect(const char *path, const char *urn, entry_t *v, size_t cap, rc_time_t *last)
{
    static char seen[4096][128];
    size_t nseen = 0, n = 0, lineno = 0;
    char line[256];
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    *last = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (++lineno == 1 || line[0] == '\0' || line[0] == '#')
            continue;
        if (line[0] == '@') {
            rc_time_t t = instant(line + 1);
            if (t > *last) {
                cr_assert_lt(n, cap);
                v[n++] = (entry_t){.kind = 'T', .at = t};
            }
            *last = t;
            continue;
        }
        size_t k = 0;
        while (k < nseen && strcmp(seen[k], line) != 0)
            k++;
        if (k < nseen)
            continue;
        cr_assert_lt(nseen, 4096);
        cr_assert_lt(strlen(line), sizeof seen[0]);
        memcpy(seen[nseen++], line, strlen(line) + 1);
        if (strncmp(line, urn, 6) != 0)
            continue;
        cr_assert_lt(n, cap);
        entry_t *e = &v[n++];
        e->kind = 'M';
        memcpy(e->upn, line + 7, RC_UPN_LEN);
        e->upn[RC_UPN_LEN] = '\0';
        e->at = instant(strrchr(line, ',') + 1);
    }
    fclose(f);
    return n;
}

/* check_log compares the marks and ticks of urn's log, after its first
 * `skip` entries (reference data), with what FILE says. */
static void check_log(const char *urn, size_t skip)
{
    static entry_t want[4096];
    rc_time_t last;
    size_t n = expect(year, urn, want, 4096, &last), at = 0;
    char key[32];
    snprintf(key, sizeof key, "rc:log:{%s}", urn);
    redisReply *r = redis_cmd("XRANGE %s - +", key);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, skip + n, "%s: %zu entries, want %zu + %zu", urn, r->elements, skip,
                 n);
    for (size_t i = skip; i < r->elements; i++, at++) {
        redisReply *fields = r->element[i]->element[1];
        wire_msg_t msg;
        char why[CODEC_WHY_MAX];
        cr_assert_eq(codec_decode((const uint8_t *)fields->element[1]->str, fields->element[1]->len,
                                  &msg, why),
                     RC_OK, "%s", why);
        if (want[at].kind == 'T') {
            cr_assert_eq(msg.kind, WIRE_TICK, "%s entry %zu: want a tick", urn, i + 1);
            cr_assert_eq(msg.u.tick.now, want[at].at, "%s entry %zu", urn, i + 1);
        } else {
            cr_assert_eq(msg.kind, WIRE_MARK, "%s entry %zu: want a mark", urn, i + 1);
            cr_assert_str_eq(msg.u.mark.upn, want[at].upn, "%s entry %zu", urn, i + 1);
            cr_assert_eq(msg.u.mark.recorded_at, want[at].at, "%s entry %zu", urn, i + 1);
        }
    }
    freeReplyObject(r);
}

static long long log_len(const char *urn)
{
    char key[32];
    snprintf(key, sizeof key, "rc:log:{%s}", urn);
    redisReply *r = redis_cmd("XLEN %s", key);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

Test(replay_e2e, a_generated_fortnight_lands_in_each_log_in_file_order)
{
    static char out[65536];
    char args[256];
    load_reference_data();
    long long before[2] = {log_len("100201"), log_len("100202")};

    snprintf(args, sizeof args, "replay '%s' --chunk-rows 7", year);
    cr_assert_eq(rollcall(args, out, sizeof out), 0, "%s", out);
    cr_assert_eq(ts_count_of(out, "rejected:"), 0, "every generated mark is accepted:\n%s", out);
    cr_assert_gt(ts_count_of(out, "duplicates:"), 0, "%s", out);
    cr_assert_gt(ts_count_of(out, "superseded:"), 0, "%s", out);
    cr_assert_eq(ts_count_of(out, "clock:"), 26, "13 school days, 2 clock lines each:\n%s", out);

    entry_t *want = calloc(4096, sizeof *want);
    rc_time_t last;
    expect(year, "100201", want, 4096, &last);
    free(want);
    cr_assert_eq(clock_held(), last, "rc:clock is the last clock line");
    cr_assert_eq(last, instant("2025-09-19T16:00:00+01:00"));
    check_log("100201", (size_t)before[0]);
    check_log("100202", (size_t)before[1]);
}

Test(replay_e2e, rejected_rows_are_named_by_their_lines_and_the_replay_goes_on)
{
    static char out[65536];
    char file[160], args[256];
    load_reference_data();
    snprintf(file, sizeof file, "%s/bad.txt", redis.dir);
    FILE *f = fopen(file, "w");
    fputs(HDR "# a comment\n" ROW("2025-09-03", "AM", "/", "08:45:00") /* line 3 */
          "@2025-09-03T09:30:00+01:00\n"                               /* 4 */
          ROW("2025-09-03", "PM", "A", "13:15:00")                     /* 5: no such code */
          "\n" ROW("2025-09-06", "AM", "/", "08:45:00")                /* 7: a Saturday */
          "@2025-09-03T16:00:00+01:00\n",
          f);
    fclose(f);
    snprintf(args, sizeof args, "replay '%s' --quiet", file);
    cr_assert_eq(rollcall(args, out, sizeof out), 1, "%s", out);
    cr_assert_eq(ts_count_of(out, "received:"), 3, "%s", out);
    cr_assert_eq(ts_count_of(out, "accepted:"), 1, "%s", out);
    cr_assert_eq(ts_count_of(out, "rejected:"), 2, "%s", out);
    cr_assert(strstr(out, "line 5, column code"), "%s", out);
    cr_assert(strstr(out, "line 7, column date"), "%s", out);
    cr_assert_null(strstr(out, UPN), "a UPN printed:\n%s", out);
    cr_assert_eq(clock_held(), instant("2025-09-03T16:00:00+01:00"), "the replay went on");
}

Test(replay_e2e, a_clock_line_going_back_stops_the_replay_there)
{
    static char out[65536];
    char file[160], args[256];
    load_reference_data();
    snprintf(file, sizeof file, "%s/back.txt", redis.dir);
    FILE *f = fopen(file, "w");
    fputs(HDR ROW("2025-09-03", "AM", "/", "08:45:00") "@2025-09-03T09:30:00+01:00\n" ROW(
              "2025-09-03", "PM", "\\", "13:15:00") "@2025-09-02T16:00:00+01:00\n" /* 5 */
          ROW("2025-09-04", "AM", "/", "08:45:00") "@2025-09-04T09:30:00+01:00\n",
          f);
    fclose(f);
    snprintf(args, sizeof args, "replay '%s'", file);
    cr_assert_eq(rollcall(args, out, sizeof out), 4, "%s", out);
    cr_assert(strstr(out, "line 5: the clock goes back"), "%s", out);
    cr_assert_eq(ts_count_of(out, "received:"), 2, "nothing from line 5 on:\n%s", out);
    cr_assert_eq(clock_held(), instant("2025-09-03T09:30:00+01:00"));
}

Test(replay_e2e, ingest_refuses_a_clock_it_has_passed_and_the_line_is_named)
{
    static char out[65536];
    char args[256];
    load_reference_data();
    snprintf(args, sizeof args, "replay '%s' --quiet", year);
    cr_assert_eq(rollcall(args, out, sizeof out), 0, "%s", out);
    long long held = clock_held();

    /* Again: its first clock line is behind ingest's clock now. */
    size_t first = 0, lineno = 0;
    char line[256];
    FILE *f = fopen(year, "r");
    while (!first && fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '@')
            first = lineno;
    }
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "line %zu: ingest refused to move its clock", first);
    cr_assert_eq(rollcall(args, out, sizeof out), 3, "%s", out);
    cr_assert(strstr(out, want), "want '%s' in:\n%s", want, out);
    cr_assert(strstr(out, "HTTP 409"), "%s", out);
    cr_assert_eq(ts_count_of(out, "accepted:"), 0, "the rows before it were held already:\n%s",
                 out);
    cr_assert_eq(clock_held(), held);
}
