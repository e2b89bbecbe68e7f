/* test_rules.c - rollcall-rules as a process behind the real ingest: a demo
 * trust's registers with amendments, duplicates and late older marks
 * replayed, and every pupil's stored metrics compared with a full
 * recompute by the domain library; kill -9 of rules mid-replay; two workers
 * splitting one trust. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "fixture_calendar.h"
#include "rollcall/codec.h"
#include "rollcall/metrics.h"
#include "rollcall/records.h"
#include "testsupport.h"

static ts_redis_t redis;
static ts_proc_t ingest, workers[2];
static int http_port, pub_port, rules_pub[2];
static const char *policies_dir = ROLLCALL_SOURCE_DIR "/policies";
static char dir[96];
static const char *clock_mode = "replay"; /* rules' --clock for the next start */

static void start_ingest(void)
{
    ts_start_ingest(&ingest, &redis, http_port, pub_port, NULL);
}

static void start_rules(int i, const char *schools)
{
    char rport[16], sub[64], pub[64], name[16], id[16];
    snprintf(rport, sizeof rport, "%d", redis.port);
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", pub_port);
    rules_pub[i] = ts_free_port();
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", rules_pub[i]);
    snprintf(name, sizeof name, "rules%d", i);
    snprintf(id, sizeof id, "rules-%d", i);
    char *argv[] = {(char *)ts_binary("services/rollcall-rules"),
                    "--redis-port",
                    rport,
                    "--ingest-endpoints",
                    sub,
                    "--pub-endpoint",
                    pub,
                    "--worker-id",
                    id,
                    "--schools",
                    (char *)schools,
                    "--policies-dir",
                    (char *)policies_dir,
                    "--clock",
                    (char *)clock_mode,
                    NULL};
    ts_proc_spawn(&workers[i], redis.dir, name, argv);
    cr_assert(ts_proc_wait_log(&workers[i], "\"service.ready\"", 10000), "rules %d", i);
}

static void setup(void)
{
    ts_redis_start(&redis, 1);
    http_port = ts_free_port();
    pub_port = ts_free_port();
    start_ingest();
    snprintf(dir, sizeof dir, "%s/demo", redis.dir);
    ts_demo_data(dir);
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++) {
        if (workers[i].pid <= 0)
            continue;
        int status = ts_proc_stop(&workers[i], SIGTERM, 5000);
        if (status != 0) { /* under ASan: the report is in its log */
            char cmd[200];
            snprintf(cmd, sizeof cmd, "grep -v '\"level\"' '%s' | head -n 40 >&2", workers[i].log);
            if (system(cmd) != 0)
                fprintf(stderr, "(no log)\n");
        }
        cr_expect_eq(status, 0, "rules %d exited with %d", i, status);
    }
    ts_proc_stop(&ingest, SIGTERM, 5000);
    ts_redis_stop(&redis);
}

TestSuite(rules, .init = setup, .fini = teardown, .timeout = 180);

/* ---- helpers ---- */

#define MARKS_HEADER "urn,upn,date,session,code,minutes_late,recorded_at\n"

/* The replay's marks: the demo registers, then amendments (N to I later in
 * the day), exact duplicates, and older marks arriving after newer ones. */
static char *replay_marks(size_t *len)
{
    char path[160];
    size_t n;
    snprintf(path, sizeof path, "%s/marks.csv", dir);
    char *demo = ts_slurp(path, &n);
    size_t cap = n * 2 + 4096, used = n;
    char *b = malloc(cap);
    memcpy(b, demo, n);
    free(demo);
    const char *line = strchr(b, '\n') + 1;
    int k = 0;
    for (const char *p = line; p < b + n && used + 256 < cap; k++) {
        const char *e = strchr(p, '\n');
        char row[200];
        snprintf(row, sizeof row, "%.*s", (int)(e - p), p);
        p = e + 1;
        char urn[8], upn[16], date[16], sess[4], code[4], late[8], at[40];
        if (sscanf(row, "%7[^,],%15[^,],%15[^,],%3[^,],%3[^,],%7[^,]", urn, upn, date, sess, code,
                   late) < 5)
            continue;
        snprintf(at, sizeof at, "%sT%s+01:00", date, sess[0] == 'A' ? "10:45:00" : "15:30:00");
        if (code[0] == 'N' && k % 2 == 0) /* the parent rang: illness, later that day */
            used += (size_t)snprintf(b + used, cap - used, "%s,%s,%s,%s,I,,%s\n", urn, upn, date,
                                     sess, at);
        if (k % 17 == 0) /* the same row sent again */
            used += (size_t)snprintf(b + used, cap - used, "%s\n", row);
        if (k % 23 == 0) /* an older correction arriving late: changes nothing */
            used += (size_t)snprintf(b + used, cap - used, "%s,%s,%s,%s,O,,%sT07:00:00+01:00\n",
                                     urn, upn, date, sess, date);
    }
    b[used] = '\0';
    *len = used;
    return b;
}

static void post_in_batches(const char *csv, size_t len, size_t from, size_t upto)
{
    /* Rows [from, upto) of csv (after its header), in batches of 250. */
    const char *p = strchr(csv, '\n') + 1;
    size_t row = 0;
    char *batch = malloc(len + sizeof MARKS_HEADER);
    size_t blen = 0, rows = 0;
    for (; p < csv + len; row++) {
        const char *e = strchr(p, '\n');
        if (row >= from && row < upto) {
            if (!rows)
                blen = (size_t)sprintf(batch, MARKS_HEADER);
            memcpy(batch + blen, p, (size_t)(e - p) + 1);
            blen += (size_t)(e - p) + 1;
            if (++rows == 250) {
                ts_http_post(http_port, "/v1/marks", "text/csv", batch, blen);
                rows = 0;
            }
        }
        p = e + 1;
    }
    if (rows)
        ts_http_post(http_port, "/v1/marks", "text/csv", batch, blen);
    free(batch);
}

static size_t count_rows(const char *csv)
{
    size_t n = 0;
    for (const char *p = csv; *p; p++)
        n += *p == '\n';
    return n - 1;
}

static int cmp_mark_pupil(const void *a, const void *b)
{
    const mark_t *x = a, *y = b;
    int d = strcmp(x->urn, y->urn);
    return d ? d : strcmp(x->upn, y->upn);
}

typedef struct {
    mark_t m;
    size_t sent; /* position in the order sent */
} sent_mark_t;

static int cmp_sent(const void *a, const void *b)
{
    const sent_mark_t *x = a, *y = b;
    int d = cmp_mark_pupil(&x->m, &y->m);
    return d ? d : (x->sent > y->sent) - (x->sent < y->sent);
}

/* check_all compares every pupil's stored metrics with a recompute from
 * the very marks that were sent (csv: marks rows, in the order sent), over
 * each school's calendar (in data_dir), as of today. */
static void check_all(const char *data_dir, const char *csv, size_t len, rc_date_t today,
                      int want_pupils)
{
    records_t *marks = NULL, *cal_rows = NULL;
    cr_assert_eq(records_parse(REC_MARKS, REC_FMT_CSV, csv, len, &marks), RC_OK);
    char path[160];
    size_t clen;
    snprintf(path, sizeof path, "%s/calendar.csv", data_dir);
    char *calcsv = ts_slurp(path, &clen);
    cr_assert_eq(records_parse(REC_CALENDAR, REC_FMT_CSV, calcsv, clen, &cal_rows), RC_OK);
    free(calcsv);
    redisContext *c = ts_redis_connect(&redis);
    /* Each pupil's marks, in the order sent (a stable sort by pupil). */
    sent_mark_t *sorted = malloc(marks->n * sizeof *sorted);
    mark_t *all = malloc(marks->n * sizeof *all);
    for (size_t i = 0; i < marks->n; i++)
        sorted[i] = (sent_mark_t){marks->v[i].u.mark, i};
    qsort(sorted, marks->n, sizeof *sorted, cmp_sent);
    for (size_t i = 0; i < marks->n; i++)
        all[i] = sorted[i].m;
    free(sorted);
    int pupils = 0;
    for (size_t i = 0, n; i < marks->n; i += n) {
        const mark_t *m = &all[i], *mine = m;
        for (n = 1; i + n < marks->n && cmp_mark_pupil(m, &all[i + n]) == 0; n++)
            ;
        calendar_t *cal = calendar_new();
        for (size_t j = 0; j < cal_rows->n; j++) {
            const calendar_rec_t *r = &cal_rows->v[j].u.calendar;
            if (strcmp(r->urn, m->urn) != 0)
                continue;
            if (r->kind == CAL_TERM)
                calendar_add_term(cal, r->from, r->to);
            else
                calendar_add_closure(cal, r->from, r->to, r->sessions);
        }
        metrics_t want;
        cr_assert_eq(metrics_compute(mine, n, cal, today, &want), RC_OK);
        calendar_destroy(&cal);
        redisReply *r = redisCommand(
            c,
            "HMGET rs:pupil:{%s}:%s possible_sessions attended_sessions authorised_absences "
            "unauthorised_absences late_before_close late_after_close "
            "penalty_window_unauthorised consecutive_unexplained_days",
            m->urn, m->upn);
        uint32_t want_v[8] = {want.possible_sessions,           want.attended_sessions,
                              want.authorised_absences,         want.unauthorised_absences,
                              want.late_before_close,           want.late_after_close,
                              want.penalty_window_unauthorised, want.consecutive_unexplained_days};
        for (int f = 0; f < 8; f++) {
            cr_assert_eq(r->element[f]->type, REDIS_REPLY_STRING, "pupil %d field %d missing",
                         pupils, f);
            cr_assert_eq(strtoul(r->element[f]->str, NULL, 10), want_v[f],
                         "school %s pupil %d field %d: stored %s, recompute %u", m->urn, pupils, f,
                         r->element[f]->str, want_v[f]);
        }
        freeReplyObject(r);
        pupils++;
    }
    cr_assert_eq(pupils, want_pupils, "every pupil with marks has state");
    free(all);
    redisFree(c);
    records_destroy(&marks);
    records_destroy(&cal_rows);
}

static const char *final_tick = "{\"now\":\"2026-09-18T16:00:00+01:00\"}";

/* ---- tests ---- */

Test(rules, replay_equals_recompute)
{
    ts_demo_load(http_port, dir);
    start_rules(0, "");
    size_t len;
    char *csv = replay_marks(&len);
    const char *first_tick = "{\"now\":\"2026-09-02T08:00:00+01:00\"}";
    ts_http_post(http_port, "/v1/clock", "application/json", first_tick, strlen(first_tick));
    post_in_batches(csv, len, 0, count_rows(csv));
    ts_http_post(http_port, "/v1/clock", "application/json", final_tick, strlen(final_tick));
    ts_wait_rules_caught_up(&redis, 60000);
    check_all(dir, csv, len, fx_date("2026-09-18"), 120);
    free(csv);
}

Test(rules, kill_9_mid_replay_then_restart)
{
    ts_demo_load(http_port, dir);
    start_rules(0, "");
    size_t len;
    char *csv = replay_marks(&len);
    size_t rows = count_rows(csv);
    post_in_batches(csv, len, 0, rows / 2);
    cr_assert_eq(ts_proc_stop(&workers[0], SIGKILL, 2000), 128 + SIGKILL);
    post_in_batches(csv, len, rows / 2, rows); /* while rules is down */
    ts_http_post(http_port, "/v1/clock", "application/json", final_tick, strlen(final_tick));
    start_rules(0, "");
    ts_wait_rules_caught_up(&redis, 60000);
    check_all(dir, csv, len, fx_date("2026-09-18"), 120);
    free(csv);
}

Test(rules, two_workers_split_one_trust)
{
    ts_demo_load(http_port, dir);
    start_rules(0, "100101,100102");
    start_rules(1, "100103");
    size_t len;
    char *csv = replay_marks(&len);
    post_in_batches(csv, len, 0, count_rows(csv));
    ts_http_post(http_port, "/v1/clock", "application/json", final_tick, strlen(final_tick));
    ts_wait_rules_caught_up(&redis, 60000);
    check_all(dir, csv, len, fx_date("2026-09-18"), 120);
    free(csv);
}

/* ---- events ---- */

static char *slurp_marks(size_t *len)
{
    char path[160];
    snprintf(path, sizeof path, "%s/marks.csv", dir);
    return ts_slurp(path, len);
}

/* post_day sends the rows of csv dated date, then moves the clock to hhmm
 * that day (BST). */
static void post_day(const char *csv, const char *date, const char *hhmm)
{
    char *batch = malloc(strlen(csv) + sizeof MARKS_HEADER);
    size_t blen = (size_t)sprintf(batch, MARKS_HEADER), rows = 0;
    for (const char *p = strchr(csv, '\n') + 1; *p;) {
        const char *e = strchr(p, '\n');
        const char *d = strchr(strchr(p, ',') + 1, ',') + 1;
        if (strncmp(d, date, 10) == 0) {
            memcpy(batch + blen, p, (size_t)(e - p) + 1);
            blen += (size_t)(e - p) + 1;
            rows++;
        }
        p = e + 1;
    }
    if (rows)
        ts_http_post(http_port, "/v1/marks", "text/csv", batch, blen);
    free(batch);
    char tick[96];
    snprintf(tick, sizeof tick, "{\"now\":\"%sT%s:00+01:00\"}", date, hhmm);
    ts_http_post(http_port, "/v1/clock", "application/json", tick, strlen(tick));
}

/* replay_by_day sends the demo register a day at a time, each day's marks
 * then a 16:00 tick, as a school's day would go. */
static void replay_by_day(const char *csv, const char *from, const char *to)
{
    for (rc_date_t d = fx_date(from); d <= fx_date(to); d++) {
        char day[RC_DATE_STRLEN];
        date_format(d, day);
        if (date_weekday(d) <= 5)
            post_day(csv, day, "16:00");
    }
}

/* dump appends every school's outbox and every pupil's stored state to a
 * new buffer, in a fixed order, for byte comparisons. */
static char *dump(size_t *len)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *u = ts_school_urns(c);
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap);
    for (size_t i = 0; i < u->elements; i++) {
        const char *urn = u->element[i]->str;
        redisReply *r = redisCommand(c, "XRANGE rs:outbox:{%s} - +", urn);
        cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
        for (size_t k = 0; k < r->elements; k++) {
            const redisReply *id = r->element[k]->element[0], *f = r->element[k]->element[1];
            cr_assert_eq(f->elements, 2);
            while (n + id->len + f->element[1]->len + 8 > cap)
                b = realloc(b, cap *= 2);
            memcpy(b + n, id->str, id->len);
            n += id->len;
            b[n++] = '=';
            memcpy(b + n, f->element[1]->str, f->element[1]->len);
            n += f->element[1]->len;
            b[n++] = '\n';
        }
        freeReplyObject(r);
        r = redisCommand(c, "SORT rs:pupils:{%s} ALPHA", urn);
        for (size_t k = 0; k < r->elements; k++) {
            redisReply *h = redisCommand(c, "HMGET rs:pupil:{%s}:%s slots policy band as_of", urn,
                                         r->element[k]->str);
            for (size_t j = 0; j < h->elements; j++) {
                const redisReply *v = h->element[j];
                size_t vl = v->type == REDIS_REPLY_STRING ? v->len : 0;
                while (n + vl + 2 > cap)
                    b = realloc(b, cap *= 2);
                if (vl)
                    memcpy(b + n, v->str, vl);
                n += vl;
                b[n++] = '|';
            }
            freeReplyObject(h);
        }
        freeReplyObject(r);
    }
    freeReplyObject(u);
    redisFree(c);
    *len = n;
    return b;
}

/* forget_rules deletes everything rules has stored, so that the next
 * worker replays every log from the start. */
static void forget_rules(void)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, "EVAL %s 0",
                                 "local n = 0 for _, k in ipairs(redis.call('KEYS', 'rs:*')) do "
                                 "redis.call('DEL', k) n = n + 1 end return n");
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    cr_assert_gt(r->integer, 0);
    freeReplyObject(r);
    redisFree(c);
}

static long long outbox_len(const char *urn)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, "XLEN rs:outbox:{%s}", urn);
    long long n = r->integer;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

/* count_events counts the outbox events of urn whose body holds kind
 * (decoded), and of those naming upn when upn is not NULL. */
static int count_events(const char *urn, event_kind_t kind, int sub, const char *upn)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, "XRANGE rs:outbox:{%s} - +", urn);
    int n = 0;
    for (size_t k = 0; k < r->elements; k++) {
        const redisReply *f = r->element[k]->element[1];
        wire_msg_t msg;
        cr_assert_eq(
            codec_decode((const uint8_t *)f->element[1]->str, f->element[1]->len, &msg, NULL),
            RC_OK);
        cr_assert_eq(msg.seq, strtoull(r->element[k]->element[0]->str, NULL, 10));
        const pupil_event_t *ev = &msg.u.event;
        int what = ev->kind == EVENT_ALERT ? (int)ev->alert : (int)ev->referral;
        if (ev->kind == kind && (sub < 0 || what == sub) && (!upn || strcmp(ev->upn, upn) == 0))
            n++;
    }
    freeReplyObject(r);
    redisFree(c);
    return n;
}

Test(rules, first_day_alert_only_while_unexplained)
{
    ts_demo_load(http_port, dir);
    start_rules(0, "");
    void *zctx = zmq_ctx_new(), *sub = zmq_socket(zctx, ZMQ_SUB);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", rules_pub[0]);
    cr_assert_eq(zmq_connect(sub, ep), 0);
    cr_assert_eq(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "pupil.909.100102.alert.", 23), 0);
    ts_sleep_ms(300); /* the subscription reaches the publisher */

    /* 100102 runs 001_attendance_process: a first-day text at 09:30. Two
     * pupils are N at registration; one parent rings at 09:10. */
    const char *a = "A909200225001", *b = "P909200225002";
    char marks[512];
    int n = snprintf(marks, sizeof marks,
                     MARKS_HEADER "100102,%s,2026-09-02,AM,N,,2026-09-02T08:55:00+01:00\n"
                                  "100102,%s,2026-09-02,AM,N,,2026-09-02T08:55:00+01:00\n"
                                  "100102,%s,2026-09-02,AM,I,,2026-09-02T09:10:00+01:00\n",
                     a, b, b);
    ts_http_post(http_port, "/v1/clock", "application/json",
                 "{\"now\":\"2026-09-02T08:00:00+01:00\"}", 35);
    ts_http_post(http_port, "/v1/marks", "text/csv", marks, (size_t)n);
    ts_http_post(http_port, "/v1/clock", "application/json",
                 "{\"now\":\"2026-09-02T09:29:00+01:00\"}", 35);
    ts_wait_rules_caught_up(&redis, 20000);
    cr_assert_eq(count_events("100102", EVENT_ALERT, ALERT_FIRST_DAY_ABSENCE, NULL), 0,
                 "nothing before 09:30");
    ts_http_post(http_port, "/v1/clock", "application/json",
                 "{\"now\":\"2026-09-02T09:30:00+01:00\"}", 35);
    ts_http_post(http_port, "/v1/clock", "application/json",
                 "{\"now\":\"2026-09-02T11:00:00+01:00\"}", 35);
    ts_wait_rules_caught_up(&redis, 20000);
    cr_assert_eq(count_events("100102", EVENT_ALERT, ALERT_FIRST_DAY_ABSENCE, a), 1);
    cr_assert_eq(count_events("100102", EVENT_ALERT, ALERT_FIRST_DAY_ABSENCE, b), 0,
                 "the parent rang before 09:30: no text");
    cr_assert_eq(count_events("100102", EVENT_ALERT, -1, NULL), 1);

    /* The same event arrives on the PUB socket, as stored. */
    zmq_msg_t topic, body;
    zmq_msg_init(&topic);
    zmq_msg_init(&body);
    int timeout = 5000;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    cr_assert_gt(zmq_msg_recv(&topic, sub, 0), 0, "no event published");
    cr_assert_gt(zmq_msg_recv(&body, sub, 0), 0);
    wire_msg_t msg;
    cr_assert_eq(codec_decode(zmq_msg_data(&body), zmq_msg_size(&body), &msg, NULL), RC_OK);
    cr_assert_str_eq(msg.u.event.upn, a);
    cr_assert_eq(msg.u.event.alert, ALERT_FIRST_DAY_ABSENCE);
    cr_assert_eq(msg.seq, 1);
    cr_assert_eq(msg.u.event.actions.n_templates, 1);
    cr_assert_str_eq(msg.u.event.actions.templates[0], "first_day_absence");
    zmq_msg_close(&topic);
    zmq_msg_close(&body);
    zmq_close(sub);
    zmq_ctx_term(zctx);
}

/* In wall mode rules moves each school it follows to the date and minute
 * in London, once a second, without any tick in the log. */
Test(rules, wall_clock_moves_schools_to_london_time)
{
    ts_demo_load(http_port, dir);
    clock_mode = "wall";
    start_rules(0, "");
    const char *mark =
        MARKS_HEADER "100102,A909200225001,2026-09-02,AM,N,,2026-09-02T08:55:00+01:00\n";
    ts_http_post(http_port, "/v1/marks", "text/csv", mark, strlen(mark));
    setenv("TZ", "Europe/London", 1);
    tzset();
    redisContext *c = ts_redis_connect(&redis);
    char today[RC_DATE_STRLEN] = "", want[32] = "";
    int minute = -1, want_minute = -1;
    for (int waited = 0; waited < 10000; waited += 100) {
        redisReply *r = redisCommand(c, "HMGET rs:school:{100102} today minute");
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        want_minute = tm.tm_hour * 60 + tm.tm_min;
        if (r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            snprintf(today, sizeof today, "%s", r->element[0]->str);
            minute = atoi(r->element[1]->str);
        }
        freeReplyObject(r);
        if (strcmp(today, want) == 0 && (minute == want_minute || minute == want_minute - 1))
            break;
        ts_sleep_ms(100);
    }
    redisFree(c);
    cr_assert_str_eq(today, want, "the school's date is London's today, not the mark's day");
    cr_assert(minute == want_minute || minute == want_minute - 1,
              "the school's minute %d is London's %d", minute, want_minute);
    clock_mode = "replay";
}

Test(rules, replay_gives_byte_identical_events_and_state)
{
    ts_demo_load(http_port, dir);
    start_rules(0, "");
    size_t len;
    char *csv = slurp_marks(&len);
    replay_by_day(csv, "2026-09-02", "2026-09-18");
    ts_wait_rules_caught_up(&redis, 60000);
    size_t n1, n2;
    char *first = dump(&n1);
    cr_assert_gt(outbox_len("100101") + outbox_len("100102") + outbox_len("100103"), 20,
                 "a replay of three weeks raises events");
    cr_assert_gt(count_events("100103", EVENT_ALERT, ALERT_HOME_VISIT_DUE, NULL), 0);

    /* The same logs replayed from nothing by a new worker. */
    cr_assert_eq(ts_proc_stop(&workers[0], SIGTERM, 5000), 0);
    forget_rules();
    start_rules(0, "");
    ts_wait_rules_caught_up(&redis, 60000);
    char *second = dump(&n2);
    cr_assert_eq(n1, n2, "dumps of %zu and %zu bytes", n1, n2);
    cr_assert(memcmp(first, second, n1) == 0, "the replay differs");
    free(first);
    free(second);
    free(csv);
}

Test(rules, kill_9_while_raising_events_then_restart)
{
    ts_demo_load(http_port, dir);
    size_t len;
    char *csv = slurp_marks(&len);
    replay_by_day(csv, "2026-09-02", "2026-09-18"); /* into the logs, rules not running */

    start_rules(0, ""); /* undisturbed */
    ts_wait_rules_caught_up(&redis, 60000);
    size_t n1, n2;
    char *calm = dump(&n1);
    cr_assert_eq(ts_proc_stop(&workers[0], SIGTERM, 5000), 0);
    forget_rules();

    for (int round = 0; round < 4; round++) { /* killed at four points of the catch-up */
        start_rules(0, "");
        ts_sleep_ms(40 + 90 * round);
        cr_assert_eq(ts_proc_stop(&workers[0], SIGKILL, 2000), 128 + SIGKILL);
    }
    start_rules(0, "");
    ts_wait_rules_caught_up(&redis, 60000);
    char *killed = dump(&n2);
    cr_assert_eq(n1, n2, "dumps of %zu and %zu bytes", n1, n2);
    cr_assert(memcmp(calm, killed, n1) == 0, "kill -9 changed the outcome");
    free(calm);
    free(killed);
    free(csv);
}

/* ---- a generated school year (scripts/gen-year.sh, docs/replay.md) ---- */

static char year_dir[128];

/* load_year writes the default generated year (3 schools x 30 pupils, the
 * 2025-26 calendar) and sends all of it through the real CLI, before any
 * rules worker runs; returns its marks rows as a marks CSV. */
static char *load_year(size_t *len)
{
    snprintf(year_dir, sizeof year_dir, "%s/year", redis.dir);
    ts_gen_year(year_dir, NULL);
    ts_load_year(http_port, year_dir);

    /* The marks rows alone, in the order sent, for the recompute. */
    char path[200];
    size_t n;
    snprintf(path, sizeof path, "%s/replay.txt", year_dir);
    char *all = ts_slurp(path, &n), *out = malloc(n + 1), *o = out;
    for (char *p = all; *p;) {
        char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
        if (*p != '@' && *p != '#' && *p != '\n') {
            memcpy(o, p, l);
            o += l;
        }
        p += l;
    }
    *o = '\0';
    free(all);
    *len = (size_t)(o - out);
    return out;
}

/* story_upn returns the UPN of the k-th pupil (1-based) of urn in the
 * generated pupils.csv. */
static void story_upn(const char *urn, int k, char upn[RC_UPN_LEN + 1])
{
    char path[200];
    size_t n;
    snprintf(path, sizeof path, "%s/pupils.csv", year_dir);
    char *csv = ts_slurp(path, &n);
    int seen = 0;
    upn[0] = '\0';
    for (char *p = strchr(csv, '\n') + 1; *p && !upn[0]; p = strchr(p, '\n') + 1)
        if (strncmp(p, urn, 6) == 0 && ++seen == k)
            snprintf(upn, RC_UPN_LEN + 1, "%.13s", p + 7);
    free(csv);
    cr_assert(upn[0], "pupil %d of %s", k, urn);
}

/* ---- the school totals and list indexes (docs/reports-data.md) ---- */

typedef struct {
    char field[256];
    long long v;
} tally_t;

static void tally(tally_t *t, size_t *n, const char *field, long long v)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(t[i].field, field) == 0) {
            t[i].v += v;
            return;
        }
    cr_assert_lt(*n, 512);
    snprintf(t[*n].field, sizeof t->field, "%s", field);
    t[(*n)++].v = v;
}

static long long tally_get(const tally_t *t, size_t n, const char *field)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].field, field) == 0)
            return t[i].v;
    return 0;
}

/* hash_get returns field of an HGETALL reply, or NULL. */
static const char *hash_get(const redisReply *h, const char *field)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1]->str;
    return NULL;
}

static long long scard(redisContext *c, const char *fmt, const char *urn, const char *arg)
{
    redisReply *r = redisCommand(c, fmt, urn, arg);
    cr_assert(r && r->type == REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static void assert_member(redisContext *c, const char *urn, const char *set, const char *upn)
{
    redisReply *r = redisCommand(c, "SISMEMBER rs:ix:{%s}:%s %s", urn, set, upn);
    cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1, "%s: %s not in %s", urn, upn,
              set);
    freeReplyObject(r);
}

/* check_school_totals recomputes one school's rs:agg and indexes from
 * every pupil's stored hash and reference row, and compares. */
static void check_school_totals(redisContext *c, const char *urn)
{
    static tally_t want[512];
    size_t n = 0;
    char field[256];
    redisReply *ups = redisCommand(c, "SMEMBERS rs:pupils:{%s}", urn);
    cr_assert(ups && ups->type == REDIS_REPLY_ARRAY && ups->elements > 0);
    for (size_t i = 0; i < ups->elements; i++) {
        const char *upn = ups->element[i]->str;
        redisReply *h = redisCommand(c, "HGETALL rs:pupil:{%s}:%s", urn, upn);
        redisReply *row = redisCommand(c, "HMGET rc:pupil:{%s}:%s flags year_group", urn, upn);
        cr_assert(row->element[0]->type == REDIS_REPLY_STRING);
        unsigned flags = (unsigned)atoi(row->element[0]->str);
        char groups[7][24] = {"all"};
        int ng = 1;
        snprintf(groups[ng++], sizeof groups[0], "y%s", row->element[1]->str);
        snprintf(field, sizeof field, "year:%s", row->element[1]->str);
        assert_member(c, urn, field, upn);
        const char *cohort[] = {"sen", "fsm", "eal", "cla", "social_worker"};
        for (int k = 0; k < 5; k++)
            if (flags & (1u << k)) {
                snprintf(groups[ng++], sizeof groups[0], "%s", cohort[k]);
                snprintf(field, sizeof field, "cohort:%s", cohort[k]);
                assert_member(c, urn, field, upn);
            }
        const char *metric[][2] = {
            {"possible", "possible_sessions"},     {"attended", "attended_sessions"},
            {"authorised", "authorised_absences"}, {"unauthorised", "unauthorised_absences"},
            {"pa", "persistent_absentee"},         {"sa", "severe_absentee"}};
        for (int g = 0; g < ng; g++) {
            snprintf(field, sizeof field, "%s:pupils", groups[g]);
            tally(want, &n, field, 1);
            for (int k = 0; k < 6; k++) {
                const char *v = hash_get(h, metric[k][1]);
                cr_assert(v, "%s lacks %s", upn, metric[k][1]);
                snprintf(field, sizeof field, "%s:%s", groups[g], metric[k][0]);
                tally(want, &n, field, atoll(v));
            }
        }
        const char *band = hash_get(h, "band");
        if (band && band[0]) {
            snprintf(field, sizeof field, "band:%s", band);
            tally(want, &n, field, 1);
            assert_member(c, urn, field, upn);
        }
        if (atoi(hash_get(h, "persistent_absentee")))
            assert_member(c, urn, "pa", upn);
        if (atoi(hash_get(h, "severe_absentee")))
            assert_member(c, urn, "sa", upn);
        for (size_t k = 0; k + 1 < h->elements; k += 2) {
            const char *f = h->element[k]->str, *v = h->element[k + 1]->str;
            if (strncmp(f, "stage:", 6) != 0)
                continue;
            snprintf(field, sizeof field, "stage:%s:%s", f + 6, v[0] ? v : "none");
            tally(want, &n, field, 1);
            if (v[0])
                assert_member(c, urn, field, upn);
        }
        const char *pct = hash_get(h, "attendance_pct");
        redisReply *score = redisCommand(c, "ZSCORE rs:ix:{%s}:att %s", urn, upn);
        cr_assert(score->type == REDIS_REPLY_STRING, "%s not in the attendance index", upn);
        cr_assert_float_eq(atof(score->str), pct && pct[0] ? atof(pct) : -1.0, 0.001, "%s", upn);
        freeReplyObject(score);
        freeReplyObject(row);
        freeReplyObject(h);
    }
    /* Stored == recomputed, field by field, both ways. */
    redisReply *agg = redisCommand(c, "HGETALL rs:agg:{%s}", urn);
    cr_assert(agg && agg->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < n; i++) {
        const char *v = hash_get(agg, want[i].field);
        cr_assert_eq(v ? atoll(v) : 0, want[i].v, "%s %s: stored %s, recomputed %lld", urn,
                     want[i].field, v ? v : "nothing", want[i].v);
    }
    for (size_t i = 0; i + 1 < agg->elements; i += 2)
        cr_assert_eq(atoll(agg->element[i + 1]->str), tally_get(want, n, agg->element[i]->str),
                     "%s %s stored but not recomputed", urn, agg->element[i]->str);
    /* Each index holds no one else: its size is the recomputed count. */
    for (size_t i = 0; i < n; i++) {
        const char *f = want[i].field;
        if (strncmp(f, "band:", 5) == 0 || (strncmp(f, "stage:", 6) == 0 && !strstr(f, ":none")))
            cr_assert_eq(scard(c, "SCARD rs:ix:{%s}:%s", urn, f), want[i].v, "%s %s", urn, f);
        else if (f[0] == 'y' && strstr(f, ":pupils")) {
            snprintf(field, sizeof field, "year:%.*s", (int)(strchr(f, ':') - f - 1), f + 1);
            cr_assert_eq(scard(c, "SCARD rs:ix:{%s}:%s", urn, field), want[i].v, "%s", field);
        }
    }
    cr_assert_eq(scard(c, "SCARD rs:ix:{%s}:%s", urn, "pa"), tally_get(want, n, "all:pa"));
    cr_assert_eq(scard(c, "SCARD rs:ix:{%s}:%s", urn, "sa"), tally_get(want, n, "all:sa"));
    cr_assert_eq(scard(c, "ZCARD rs:ix:{%s}:%s", urn, "att"), (long long)ups->elements);

    /* The weekly trend counts the same winning marks by week: its sums are
     * the year's totals (the generated year is one school year). */
    redisReply *wk = redisCommand(c, "HGETALL rs:wk:{%s}", urn);
    long long possible = 0, attended = 0, weeks = 0;
    for (size_t i = 0; i + 1 < wk->elements; i += 2) {
        const char *f = wk->element[i]->str;
        long long v = atoll(wk->element[i + 1]->str);
        rc_date_t d;
        cr_assert_eq(date_parse(f, 10, &d), RC_OK, "%s", f);
        cr_assert_eq(date_weekday(d), 1, "%s is not a Monday", f);
        cr_assert_geq(v, 0, "%s", f);
        if (strstr(f, ":possible")) {
            possible += v;
            weeks++;
        } else {
            attended += v;
        }
    }
    cr_assert_eq(possible, tally_get(want, n, "all:possible"), "%s weekly possible", urn);
    cr_assert_eq(attended, tally_get(want, n, "all:attended"), "%s weekly attended", urn);
    cr_assert_gt(weeks, 30, "%s: a year has more than 30 school weeks", urn);
    freeReplyObject(wk);
    freeReplyObject(agg);
    freeReplyObject(ups);
}

static void check_totals(void)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *u = ts_school_urns(c);
    for (size_t i = 0; i < u->elements; i++)
        check_school_totals(c, u->element[i]->str);
    freeReplyObject(u);
    redisFree(c);
}

Test(rules, generated_year_equals_recompute_and_tells_every_story)
{
    size_t len, n1, n2;
    char *csv = load_year(&len);
    start_rules(0, "");
    ts_wait_rules_caught_up(&redis, 120000);
    check_all(year_dir, csv, len, fx_date("2026-07-22"), 90);
    check_totals();

    const char *urns[] = {"100201", "100202", "100203"};
    struct {
        int pupil;
        referral_kind_t kind;
    } stories[] = {{1, REFERRAL_CME},
                   {2, REFERRAL_ILLNESS_15_DAYS},
                   {3, REFERRAL_SEVERE_ABSENCE},
                   {4, REFERRAL_DELETION_CANDIDATE},
                   {8, REFERRAL_PENALTY_THRESHOLD}};
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; k < sizeof stories / sizeof *stories; k++) {
            char upn[RC_UPN_LEN + 1];
            story_upn(urns[i], stories[k].pupil, upn);
            cr_assert_eq(count_events(urns[i], EVENT_REFERRAL, (int)stories[k].kind, upn), 1,
                         "school %s pupil %d: one %s referral", urns[i], stories[k].pupil,
                         referral_kind_name(stories[k].kind));
        }
        cr_assert_gt(count_events(urns[i], EVENT_STAGE_CHANGE, -1, NULL), 0, "%s", urns[i]);
        cr_assert_gt(count_events(urns[i], EVENT_ALERT, ALERT_FIRST_DAY_ABSENCE, NULL), 0);
    }
    cr_assert_gt(count_events("100201", EVENT_ALERT, ALERT_HOME_VISIT_DUE, NULL), 0,
                 "004_hcat visits on days 2 and 4");

    /* The same year replayed again from nothing: byte-identical. */
    char *first = dump(&n1);
    cr_assert_eq(ts_proc_stop(&workers[0], SIGTERM, 5000), 0);
    forget_rules();
    start_rules(0, "");
    ts_wait_rules_caught_up(&redis, 120000);
    char *second = dump(&n2);
    cr_assert_eq(n1, n2, "dumps of %zu and %zu bytes", n1, n2);
    cr_assert(memcmp(first, second, n1) == 0, "the second replay differs");
    free(first);
    free(second);
    free(csv);
}

Test(rules, generated_year_through_kill_9_of_rules_and_of_redis)
{
    size_t len, n1, n2;
    char *csv = load_year(&len);
    start_rules(0, ""); /* undisturbed */
    ts_wait_rules_caught_up(&redis, 120000);
    char *calm = dump(&n1);
    cr_assert_eq(ts_proc_stop(&workers[0], SIGTERM, 5000), 0);
    forget_rules();

    for (int round = 0; round < 3; round++) { /* rules killed at three points */
        start_rules(0, "");
        ts_sleep_ms(300 + 400 * round);
        cr_assert_eq(ts_proc_stop(&workers[0], SIGKILL, 2000), 128 + SIGKILL);
    }
    start_rules(0, "");
    ts_sleep_ms(500);
    ts_redis_kill9(&redis); /* and Redis, under a running worker */
    ts_redis_restart(&redis);
    ts_wait_rules_caught_up(&redis, 120000);
    check_all(year_dir, csv, len, fx_date("2026-07-22"), 90);
    check_totals();
    char *killed = dump(&n2);
    cr_assert_eq(n1, n2, "dumps of %zu and %zu bytes", n1, n2);
    cr_assert(memcmp(calm, killed, n1) == 0, "the kills changed the outcome");
    free(calm);
    free(killed);
    free(csv);
}

/* ---- a school whose policy file is broken ---- */

Test(rules, broken_policy_holds_its_school_until_mended)
{
    /* A copy of the policies with 002_lowther (school 100101's) broken. */
    static char mine[160];
    char cmd[400];
    snprintf(mine, sizeof mine, "%s/policies", redis.dir);
    snprintf(cmd, sizeof cmd,
             "cp -r '%s/policies' '%s' && sed -i 's/^bands:/bands: [/' '%s/002_lowther.yaml'",
             ROLLCALL_SOURCE_DIR, redis.dir, mine);
    cr_assert_eq(system(cmd), 0);
    policies_dir = mine;
    ts_demo_load(http_port, dir);
    start_rules(0, "");
    size_t len;
    char *csv = slurp_marks(&len);
    post_in_batches(csv, len, 0, count_rows(csv));

    /* The others run; 100101 is held, and the log says which line. */
    cr_assert(ts_proc_wait_log(&workers[0], "\"rules.school_held\"", 10000));
    cr_assert(ts_proc_wait_log(&workers[0], "002_lowther.yaml:", 1000),
              "the reason names the file and line");
    redisContext *c = ts_redis_connect(&redis);
    for (int waited = 0; waited < 20000; waited += 100) {
        redisReply *a = redisCommand(c, "GET rc:seq:{100103}");
        redisReply *b = redisCommand(c, "HGET rs:school:{100103} pos");
        int done = b->type == REDIS_REPLY_STRING && strcmp(a->str, b->str) == 0;
        freeReplyObject(a);
        freeReplyObject(b);
        if (done)
            break;
        ts_sleep_ms(100);
    }
    redisReply *held = redisCommand(c, "EXISTS rs:school:{100101}");
    cr_assert_eq(held->integer, 0, "nothing of the held school is applied");
    freeReplyObject(held);
    redisFree(c);

    /* Mended: it resumes by itself, from where it stopped. */
    snprintf(cmd, sizeof cmd, "cp '%s/policies/002_lowther.yaml' '%s/'", ROLLCALL_SOURCE_DIR, mine);
    cr_assert_eq(system(cmd), 0);
    ts_wait_rules_caught_up(&redis, 30000);
    cr_assert(ts_proc_wait_log(&workers[0], "\"rules.school_resumed\"", 1000));
    check_all(dir, csv, len, fx_date("2026-09-02"), 120);
    free(csv);
    policies_dir = ROLLCALL_SOURCE_DIR "/policies";
}
