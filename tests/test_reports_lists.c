/* test_reports_lists.c - rollcall-reports' summaries and working lists as a
 * process, against a throwaway Redis seeded here with the totals and indexes
 * rules keeps (docs/reports-data.md): the answers checked against what was
 * seeded, filters and pagination, the CSV's quoting and formula defence,
 * referrals of a school and of an LA, reviews, first-day absences; and the
 * CSV writer as a unit. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports_csv.h"
#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "rollcall/ids.h"
#include "testsupport.h"

static ts_redis_t redis;
static ts_proc_t reports;
static int http_port;

/* S1 and S2 in LA 909 and trust TR1; S3 in LA 910 and no trust. */
#define S1      "100201"
#define S2      "100202"
#define S3      "100203"
#define NPUPILS 12 /* S1's pupils with a percentage; one more has none */

static const ts_token_t tokens[] = {{"tok-admin", "admin", "admin"},
                                    {"tok-s1", "school:" S1, "s1"},
                                    {"tok-tr1", "trust:TR1", "tr1"},
                                    {"tok-la909", "la:909", "la909"}};

static char upns[NPUPILS + 1][RC_UPN_LEN + 1];

static void make_upn(int i, char out[RC_UPN_LEN + 1])
{
    char rest[13];
    snprintf(rest, sizeof rest, "8012000%05d", i);
    out[0] = upn_check_letter(rest);
    cr_assert(out[0]);
    memcpy(out + 1, rest, 13);
}

static void cmd(redisContext *c, redisReply *r)
{
    cr_assert(r, "redis: %s", c->errstr);
    cr_assert_neq(r->type, REDIS_REPLY_ERROR, "redis: %s", r->str);
    freeReplyObject(r);
}

/* A seeded pupil of S1: pupil i attends 100 - 5i of 100 sessions. */
static int attended(int i)
{
    return 100 - 5 * i;
}

static const char *band_of(int i)
{
    return attended(i) >= 97 ? "green" : attended(i) >= 90 ? "amber" : "red";
}

static void seed_pupil(redisContext *c, int i)
{
    const char *surnames[] = {"=HYPERLINK(\"http://x\")", "+SUM(A1)", "-2+3", "@cmd"};
    char surname[64];
    int unauth = (100 - attended(i)) / 2, auth = 100 - attended(i) - unauth;
    int pa = 100 - attended(i) >= 10, sa = 100 - attended(i) >= 50;
    const char *upn = upns[i];
    snprintf(surname, sizeof surname, "%s", i < 4 ? surnames[i] : "Smith");
    cmd(c, redisCommand(c,
                        "HSET rs:pupil:{%s}:%s possible_sessions 100 attended_sessions %d "
                        "authorised_absences %d unauthorised_absences %d "
                        "penalty_window_unauthorised %d consecutive_unexplained_days %d "
                        "attendance_pct %d.0 persistent_absentee %d severe_absentee %d band %s "
                        "stage:unauthorised %s slots xx",
                        S1, upn, attended(i), auth, unauth, unauth, i % 3, attended(i), pa, sa,
                        band_of(i), i >= 4 && i < 8 ? "stage_1" : ""));
    cmd(c, redisCommand(c, "HSET rc:pupil:{%s}:%s forename %s surname %s year_group %d", S1, upn,
                        i == 5 ? "Ann, \"Jr\"" : "Pat", surname, i % 2 ? 8 : 7));
    cmd(c, redisCommand(c, "ZADD rs:ix:{%s}:att %d %s", S1, attended(i), upn));
    cmd(c, redisCommand(c, "SADD rs:ix:{%s}:year:%d %s", S1, i % 2 ? 8 : 7, upn));
    cmd(c, redisCommand(c, "SADD rs:ix:{%s}:band:%s %s", S1, band_of(i), upn));
    if (i % 3 == 0)
        cmd(c, redisCommand(c, "SADD rs:ix:{%s}:cohort:sen %s", S1, upn));
    if (pa)
        cmd(c, redisCommand(c, "SADD rs:ix:{%s}:pa %s", S1, upn));
    if (sa)
        cmd(c, redisCommand(c, "SADD rs:ix:{%s}:sa %s", S1, upn));
    if (i >= 4 && i < 8)
        cmd(c, redisCommand(c, "SADD rs:ix:{%s}:stage:unauthorised:stage_1 %s", S1, upn));
}

/* put_event writes a pupil event of school urn at outbox position seq. */
static void put_event(redisContext *c, const char *urn, uint64_t seq, const char *upn,
                      referral_kind_t ref, const char *date)
{
    wire_msg_t m;
    char why[CODEC_WHY_MAX] = "";
    uint8_t *buf;
    size_t len;
    codec_msg_init(&m, WIRE_PUPIL_EVENT);
    snprintf(m.event_id, sizeof m.event_id, "ev-%s-%llu", urn, (unsigned long long)seq);
    m.seq = seq;
    strcpy(m.urn, urn);
    pupil_event_t *e = &m.u.event;
    strcpy(e->la_code, strcmp(urn, S3) ? "909" : "910");
    strcpy(e->upn, upn);
    cr_assert_eq(date_parse(date, 10, &e->date), RC_OK);
    e->metrics = (metrics_t){.possible_sessions = 10, .attended_sessions = 10};
    if (ref == REFERRAL_NONE) {
        e->kind = EVENT_ALERT;
        e->alert = ALERT_FIRST_DAY_ABSENCE;
        e->session = seq % 2 ? SESSION_AM : SESSION_PM; /* odd positions AM, even PM */
        strcpy(e->reason, "absent with no reason at 09:30");
    } else {
        e->kind = EVENT_REFERRAL;
        e->referral = ref;
        if (ref == REFERRAL_STAGE)
            strcpy(e->track, "unauthorised");
        snprintf(e->reason, sizeof e->reason, "%s reached", referral_kind_name(ref));
    }
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_OK, "%s", why);
    cmd(c,
        redisCommand(c, "XADD rs:outbox:{%s} %llu-0 e %b", urn, (unsigned long long)seq, buf, len));
    if (ref == REFERRAL_NONE)
        cmd(c, redisCommand(c, "RPUSH rs:alerts:{%s}:%s %llu", urn, date, (unsigned long long)seq));
    else
        cmd(c, redisCommand(c, "RPUSH rs:refs:{%s} %llu", urn, (unsigned long long)seq));
    free(buf);
}

/* seed_agg writes S1's totals from the seeded pupils, and S2's and S3's. */
static void seed_agg(redisContext *c)
{
    long all[7] = {0}, y[2][7] = {{0}}, sen[7] = {0};
    for (int i = 0; i < NPUPILS; i++) {
        int a = attended(i), un = (100 - a) / 2;
        long v[7] = {1, 100, a, 100 - a - un, un, 100 - a >= 10, 100 - a >= 50};
        for (int k = 0; k < 7; k++) {
            all[k] += v[k];
            y[i % 2][k] += v[k];
            sen[k] += i % 3 == 0 ? v[k] : 0;
        }
        cmd(c, redisCommand(c, "HINCRBY rs:agg:{%s} band:%s 1", S1, band_of(i)));
        cmd(c, redisCommand(c, "HINCRBY rs:agg:{%s} stage:unauthorised:%s 1", S1,
                            i >= 4 && i < 8 ? "stage_1" : "none"));
    }
    all[0]++; /* the pupil without a percentage, on no stage */
    y[0][0]++;
    cmd(c, redisCommand(c, "HINCRBY rs:agg:{%s} stage:unauthorised:none 1", S1));
    static const char *const m[7] = {"pupils",       "possible", "attended", "authorised",
                                     "unauthorised", "pa",       "sa"};
    for (int k = 0; k < 7; k++) {
        cmd(c, redisCommand(c, "HSET rs:agg:{%s} all:%s %ld y7:%s %ld y8:%s %ld sen:%s %ld", S1,
                            m[k], all[k], m[k], y[0][k], m[k], y[1][k], m[k], sen[k]));
    }
    cmd(c, redisCommand(c,
                        "HSET rs:agg:{%s} all:pupils 3 all:possible 30 all:attended 29 "
                        "all:authorised 1 y9:pupils 3 y9:possible 30 y9:attended 29 "
                        "band:green 2 band:amber 1 fsm:pupils 1 fsm:possible 10 fsm:attended 9",
                        S2));
    cmd(c, redisCommand(c,
                        "HSET rs:wk:{%s} 2025-09-08:possible 60 2025-09-08:attended 57 "
                        "2025-09-01:possible 40 2025-09-01:attended 40",
                        S1));
    cmd(c, redisCommand(c, "HSET rs:wk:{%s} 2025-09-08:possible 10 2025-09-08:attended 9", S2));
    cmd(c, redisCommand(c, "HSET rs:agg:{%s} all:pupils 1 all:possible 10 all:attended 5", S3));
}

static void seed(void)
{
    redisContext *c = ts_redis_connect(&redis);
    for (int i = 0; i <= NPUPILS; i++)
        make_upn(i + 1, upns[i]);
    cmd(c, redisCommand(c, "HSET rc:school:{%s} name %s la_code 909 trust_id TR1", S1,
                        "Oak, \"North\""));
    cmd(c, redisCommand(c, "HSET rc:school:{%s} name Elm la_code 909 trust_id TR1", S2));
    cmd(c, redisCommand(c, "HSET rc:school:{%s} name Ash la_code 910 trust_id %s", S3, ""));
    cmd(c, redisCommand(c, "SADD rc:la:909 %s %s", S1, S2));
    cmd(c, redisCommand(c, "SADD rc:la:910 %s", S3));
    cmd(c, redisCommand(c, "SADD rc:trust:TR1 %s %s", S1, S2));
    cmd(c, redisCommand(c,
                        "HSET rs:school:{%s} today 2025-09-10 target_pct 96.0 band_order "
                        "green,amber,red stage_order %s",
                        S1, "unauthorised=stage_1,stage_2 lateness=letter_1"));
    cmd(c, redisCommand(c, "HSET rs:school:{%s} today 2025-09-10 target_pct %s", S2, ""));
    for (int i = 0; i < NPUPILS; i++)
        seed_pupil(c, i);
    /* the last pupil has state but no percentage yet */
    cmd(c, redisCommand(c, "HSET rs:pupil:{%s}:%s possible_sessions 0 attendance_pct %s", S1,
                        upns[NPUPILS], ""));
    cmd(c, redisCommand(c, "HSET rc:pupil:{%s}:%s forename New surname Starter year_group 7", S1,
                        upns[NPUPILS]));
    cmd(c, redisCommand(c, "ZADD rs:ix:{%s}:att -1 %s", S1, upns[NPUPILS]));
    cmd(c, redisCommand(c, "SADD rs:ix:{%s}:year:7 %s", S1, upns[NPUPILS]));
    seed_agg(c);
    /* referrals: S1 three, S2 one, S3 one (another LA) */
    put_event(c, S1, 1, upns[11], REFERRAL_SEVERE_ABSENCE, "2025-09-08");
    put_event(c, S1, 2, upns[2], REFERRAL_PENALTY_THRESHOLD, "2025-09-09");
    put_event(c, S1, 3, upns[4], REFERRAL_STAGE, "2025-09-09");
    put_event(c, S1, 4, upns[1], REFERRAL_NONE, "2025-09-10");
    put_event(c, S1, 5, upns[3], REFERRAL_NONE, "2025-09-10");
    put_event(c, S1, 6, upns[3], REFERRAL_NONE, "2025-09-09");
    put_event(c, S2, 1, upns[0], REFERRAL_CME, "2025-09-10");
    put_event(c, S3, 1, upns[0], REFERRAL_CME, "2025-09-10");
    /* reviews: overdue, due today + 3, due in 20 days */
    cmd(c, redisCommand(c,
                        "ZADD rs:ix:{%s}:review 20250905 %s|unauthorised 20250913 %s|lateness "
                        "20250930 %s|unauthorised",
                        S1, upns[4], upns[5], upns[6]));
    /* notify's messages for pupil 1's first-day alert (event ev-100201-4) */
    const char *k1 = "aaa1", *k2 = "bbb2", *k3 = "ccc3";
    cmd(c, redisCommand(c,
                        "HSET rn:msg:{%s}:%s channel sms contact c-1 state delivered event %s "
                        "seqs 4",
                        S1, k1, "ev-100201-4"));
    cmd(c, redisCommand(c,
                        "HSET rn:msg:{%s}:%s channel email contact c-2 state failed event %s "
                        "seqs 4",
                        S1, k2, "ev-100201-4"));
    cmd(c, redisCommand(c,
                        "HSET rn:msg:{%s}:%s channel sms contact c-1 state sent event other "
                        "seqs 99",
                        S1, k3));
    cmd(c, redisCommand(c,
                        "RPUSH rn:audit:{%s}:%s 1757491200000000:sent:rc-%s-%s "
                        "1757491300000000:delivered:rc-%s-%s 1757491200000000:failed:rc-%s-%s "
                        "1757491200000000:sent:rc-%s-%s",
                        S1, upns[1], S1, k1, S1, k1, S1, k2, S1, k3));
    /* letters notify filed for printing: two on 2025-09-10, one earlier */
    cmd(c, redisCommand(c, "ZADD rn:letters:{%s} 20250910 lt-b 20250910 lt-a 20250903 lt-c", S1));
    const char *lt[][4] = {{"lt-a", "2025-09-10", "Dear Ann Smith,\nLetter A: 90.0%", "Ann Smith"},
                           {"lt-b", "2025-09-10", "Dear Bob Smith,\nLetter A: 90.0%", "=Bob"},
                           {"lt-c", "2025-09-03", "Dear Cat Jones,\nLetter B", "Cat Jones"}};
    for (int i = 0; i < 3; i++)
        cmd(c, redisCommand(c,
                            "HSET rn:msg:{%s}:%s channel letter to post state sent template "
                            "letter_a date %s upns %s name %s subject %s letter %s",
                            S1, lt[i][0], lt[i][1], upns[i < 2 ? 2 : 3], lt[i][3], "Letter A",
                            lt[i][2]));
    redisFree(c);
}

static void setup(void)
{
    char tokens_path[128];
    ts_redis_start(&redis, 0);
    seed();
    snprintf(tokens_path, sizeof tokens_path, "%s/tokens", redis.dir);
    ts_write_tokens(tokens_path, tokens, sizeof tokens / sizeof *tokens);
    http_port = ts_free_port();
    ts_start_reports(&reports, &redis, http_port, 0, tokens_path, NULL);
}

static void teardown(void)
{
    cr_expect_eq(ts_proc_stop(&reports, SIGTERM, 5000), 0);
    ts_redis_stop(&redis);
}

TestSuite(reports_lists, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers ---- */

static ts_http_resp_t get(const char *path, const char *token)
{
    return ts_http_get_bearer(http_port, path, token, 0);
}

static json_t *get_json(const char *path, const char *token)
{
    ts_http_resp_t r = get(path, token);
    cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body ? r.body : "");
    cr_assert(r.json, "%s: %s", path, r.body);
    json_t *j = json_incref(r.json);
    ts_http_resp_free(&r);
    return j;
}

static long status_of(const char *path, const char *token, char *why, size_t cap)
{
    ts_http_resp_t r = get(path, token);
    long s = r.status;
    if (why)
        snprintf(why, cap, "%s", r.body ? r.body : "");
    ts_http_resp_free(&r);
    return s;
}

static json_int_t num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_integer(v), "%s is not an integer", k);
    return json_integer_value(v);
}

static double real(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_number(v), "%s is not a number", k);
    return json_number_value(v);
}

static const char *str(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_string(v), "%s is not a string", k);
    return json_string_value(v);
}

/* ---- summaries ---- */

Test(reports_lists, school_summary_is_the_seeded_totals)
{
    json_t *o = get_json("/v1/schools/" S1 "/summary", "tok-s1");
    long att = 0, pa = 0, sa = 0;
    for (int i = 0; i < NPUPILS; i++) {
        att += attended(i);
        pa += 100 - attended(i) >= 10;
        sa += 100 - attended(i) >= 50;
    }
    cr_expect_str_eq(str(o, "urn"), S1);
    cr_expect_str_eq(str(o, "name"), "Oak, \"North\"");
    cr_expect_str_eq(str(o, "la_code"), "909");
    cr_expect_str_eq(str(o, "trust_id"), "TR1");
    cr_expect_str_eq(str(o, "as_of"), "2025-09-10");
    cr_expect_float_eq(real(o, "target_pct"), 96.0, 1e-9);
    cr_expect_eq(num(o, "pupils"), NPUPILS + 1);
    cr_expect_eq(num(o, "possible_sessions"), 100 * NPUPILS);
    cr_expect_eq(num(o, "attended_sessions"), att);
    cr_expect_eq(num(o, "persistent_absentees"), pa);
    cr_expect_eq(num(o, "severe_absentees"), sa);
    cr_expect_float_eq(real(o, "attendance_pct"),
                       ((long)(1000.0 * att / (100 * NPUPILS) + 0.5)) / 10.0, 1e-9);
    json_t *y7 = json_object_get(json_object_get(o, "by_year_group"), "7");
    json_t *y8 = json_object_get(json_object_get(o, "by_year_group"), "8");
    cr_assert(y7 && y8);
    cr_expect_eq(num(y7, "pupils") + num(y8, "pupils"), NPUPILS + 1);
    cr_expect_eq(num(y7, "possible_sessions") + num(y8, "possible_sessions"), 100 * NPUPILS);
    cr_expect_eq(json_object_size(json_object_get(o, "by_year_group")), 2);
    json_t *sen = json_object_get(json_object_get(o, "by_cohort"), "sen");
    cr_expect_eq(num(sen, "pupils"), 4); /* pupils 0, 3, 6, 9 */
    cr_expect(json_equal(sen, json_object_get(o, "sen")), "sen repeated at the top");
    json_t *fsm = json_object_get(o, "fsm");
    cr_expect_eq(num(fsm, "pupils"), 0);
    cr_expect(json_is_null(json_object_get(fsm, "attendance_pct")), "no sessions: null");
    json_t *bands = json_object_get(o, "bands");
    cr_assert_eq(json_array_size(bands), 3);
    /* in the policy's order (band_order), every band */
    cr_expect_str_eq(str(json_array_get(bands, 0), "band"), "green");
    cr_expect_eq(num(json_array_get(bands, 0), "pupils"), 1);
    cr_expect_str_eq(str(json_array_get(bands, 1), "band"), "amber");
    cr_expect_eq(num(json_array_get(bands, 1), "pupils"), 2); /* 95 and 90 */
    cr_expect_str_eq(str(json_array_get(bands, 2), "band"), "red");
    cr_expect_eq(num(json_array_get(bands, 2), "pupils"), NPUPILS - 3);
    json_t *stages = json_object_get(o, "stages"), *st = json_object_get(stages, "unauthorised");
    cr_expect_eq(num(st, "stage_1"), 4);
    cr_expect_eq(num(st, "stage_2"), 0, "a stage nobody is on is still listed");
    cr_expect_eq(num(st, "none"), NPUPILS + 1 - 4);
    cr_expect_eq(num(json_object_get(stages, "lateness"), "letter_1"), 0);
    const char *first_key = json_object_iter_key(json_object_iter(st));
    cr_expect_str_eq(first_key, "stage_1", "the ladder's order");
    json_t *wk = json_object_get(o, "weekly");
    cr_assert_eq(json_array_size(wk), 2);
    cr_expect_str_eq(str(json_array_get(wk, 0), "week"), "2025-09-01");
    cr_expect_eq(num(json_array_get(wk, 1), "possible_sessions"), 60);
    cr_expect_float_eq(real(json_array_get(wk, 1), "attendance_pct"), 95.0, 1e-9);
    json_decref(o);
}

Test(reports_lists, percentages_have_one_decimal_in_the_text)
{
    ts_http_resp_t r = get("/v1/schools/" S2 "/summary", "tok-admin");
    cr_assert_eq(r.status, 200);
    /* 29 of 30: 96.666... printed as 96.7 */
    cr_expect(strstr(r.body, "\"attendance_pct\":96.7,"), "%s", r.body);
    cr_expect(strstr(r.body, "\"target_pct\":null"), "%s", r.body);
    ts_http_resp_free(&r);
}

Test(reports_lists, trust_total_is_the_sum_of_its_schools)
{
    json_t *o = get_json("/v1/trusts/TR1/summary", "tok-tr1");
    cr_expect_str_eq(str(o, "trust_id"), "TR1");
    json_t *schools = json_object_get(o, "schools"), *total = json_object_get(o, "total");
    cr_assert_eq(json_array_size(schools), 2);
    cr_expect_str_eq(str(json_array_get(schools, 0), "urn"), S1);
    cr_expect_null(json_object_get(json_array_get(schools, 0), "weekly"));
    const char *m[] = {"pupils",
                       "possible_sessions",
                       "attended_sessions",
                       "authorised_absences",
                       "unauthorised_absences",
                       "persistent_absentees",
                       "severe_absentees"};
    for (size_t k = 0; k < sizeof m / sizeof *m; k++) {
        json_int_t sum = 0;
        for (size_t s = 0; s < 2; s++)
            sum += num(json_array_get(schools, s), m[k]);
        cr_expect_eq(num(total, m[k]), sum, "%s", m[k]);
    }
    /* and the school rows are the school summaries without the trend */
    json_t *one = get_json("/v1/schools/" S1 "/summary", "tok-admin");
    json_object_del(one, "weekly");
    cr_expect(json_equal(one, json_array_get(schools, 0)));
    json_decref(one);
    cr_expect_eq(num(json_object_get(json_object_get(total, "by_year_group"), "9"), "pupils"), 3);
    json_t *wk = json_object_get(total, "weekly");
    cr_assert_eq(json_array_size(wk), 2);
    cr_expect_eq(num(json_array_get(wk, 1), "possible_sessions"), 70);
    cr_expect_eq(num(json_array_get(wk, 1), "attended_sessions"), 66);
    json_t *bands = json_object_get(total, "bands");
    cr_expect_str_eq(str(json_array_get(bands, 1), "band"), "green");
    cr_expect_eq(num(json_array_get(bands, 1), "pupils"), 2 + 1); /* S2's 2, S1's pupil 0 */
    json_decref(o);

    o = get_json("/v1/la/909/summary", "tok-la909");
    cr_expect_str_eq(str(o, "la_code"), "909");
    cr_expect_eq(json_array_size(json_object_get(o, "schools")), 2);
    json_decref(o);
    o = get_json("/v1/la/910/summary", "tok-admin");
    cr_expect_eq(num(json_object_get(o, "total"), "attended_sessions"), 5);
    cr_expect_float_eq(real(json_object_get(o, "total"), "attendance_pct"), 50.0, 1e-9);
    json_decref(o);
}

Test(reports_lists, group_access_and_errors)
{
    char why[512];
    static const struct {
        const char *path;
        long want[4]; /* admin, school S1, trust TR1, la 909 */
    } m[] = {
        {"/v1/trusts/TR1/summary", {200, 403, 200, 403}},
        {"/v1/la/909/summary", {200, 403, 403, 200}},
        {"/v1/la/910/summary", {200, 403, 403, 403}},
        {"/v1/la/909/referrals", {200, 403, 403, 200}},
        {"/v1/schools/" S2 "/summary", {200, 403, 200, 200}},
        {"/v1/schools/" S3 "/referrals", {200, 403, 403, 403}},
        {"/v1/trusts/NOPE/summary", {404, 403, 403, 403}},
        {"/v1/la/999/summary", {404, 403, 403, 403}},
        {"/v1/la/999/referrals", {404, 403, 403, 403}},
        {"/v1/schools/100299/pupils", {404, 403, 403, 403}},
        {"/v1/la/9x9/summary", {400, 400, 400, 400}},
        {"/v1/trusts/a.b/summary", {400, 400, 400, 400}},
    };
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        for (int t = 0; t < 4; t++)
            cr_expect_eq(status_of(m[i].path, tokens[t].token, why, sizeof why), m[i].want[t],
                         "%s with %s: %s", m[i].path, tokens[t].token, why);
    ts_http_resp_t r = ts_http_request(http_port, "GET", "/v1/la/909/summary", NULL);
    cr_expect_eq(r.status, 401);
    ts_http_resp_free(&r);
    cr_expect_eq(status_of("/v1/la/909/summary?x=1", "tok-admin", why, sizeof why), 400);
    cr_expect(strstr(why, "x: this endpoint takes no such parameter"), "%s", why);
}

/* ---- the pupil list ---- */

/* list_upns GETs path and returns its rows' UPNs joined by ',' in out,
 * the X-Total-Count in *total and the Link in link. */
static json_t *list(const char *path, const char *token, long *total, char *link, size_t cap)
{
    ts_http_resp_t r = get(path, token);
    char n[32];
    cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body ? r.body : "");
    cr_assert(json_is_array(r.json), "%s", r.body);
    ts_http_header(&r, "X-Total-Count", n, sizeof n);
    cr_assert(n[0], "no X-Total-Count: %s", r.headers);
    *total = strtol(n, NULL, 10);
    if (link)
        ts_http_header(&r, "Link", link, cap);
    json_t *j = json_incref(r.json);
    ts_http_resp_free(&r);
    return j;
}

Test(reports_lists, pupils_worst_first_with_fields)
{
    long total;
    json_t *a = list("/v1/schools/" S1 "/pupils", "tok-s1", &total, NULL, 0);
    cr_assert_eq(total, NPUPILS + 1);
    cr_assert_eq(json_array_size(a), NPUPILS + 1);
    for (int k = 0; k < NPUPILS; k++) /* worst first: pupil 11, 10, ... 0 */
        cr_expect_str_eq(str(json_array_get(a, k), "upn"), upns[NPUPILS - 1 - k], "row %d", k);
    cr_expect_str_eq(str(json_array_get(a, NPUPILS), "upn"), upns[NPUPILS], "no % last");
    cr_expect(json_is_null(json_object_get(json_array_get(a, NPUPILS), "attendance_pct")));
    json_t *p5 = json_array_get(a, NPUPILS - 1 - 5);
    cr_expect_str_eq(str(p5, "forename"), "Ann, \"Jr\"");
    cr_expect_str_eq(str(p5, "surname"), "Smith");
    cr_expect_eq(num(p5, "year_group"), 8);
    cr_expect_eq(num(p5, "possible_sessions"), 100);
    cr_expect_eq(num(p5, "attended_sessions"), 75);
    cr_expect_eq(num(p5, "unauthorised_absences"), 12);
    cr_expect_eq(num(p5, "authorised_absences"), 13);
    cr_expect_eq(num(p5, "penalty_window_unauthorised"), 12);
    cr_expect_eq(num(p5, "consecutive_unexplained_days"), 2);
    cr_expect_float_eq(real(p5, "attendance_pct"), 75.0, 1e-9);
    cr_expect(json_is_true(json_object_get(p5, "persistent_absentee")));
    cr_expect(json_is_false(json_object_get(p5, "severe_absentee")));
    cr_expect_str_eq(str(p5, "band"), "red");
    cr_expect_str_eq(str(json_object_get(p5, "stages"), "unauthorised"), "stage_1");
    json_decref(a);
}

/* want_filtered is true when seeded pupil i matches the filters. */
static int matches(int i, int year, int sen, int pa, int sa, int stage, const char *band)
{
    int absent = 100 - attended(i);
    return (!year || (i % 2 ? 8 : 7) == year) && (!sen || i % 3 == 0) && (!pa || absent >= 10) &&
           (!sa || absent >= 50) && (!stage || (i >= 4 && i < 8)) &&
           (!band || strcmp(band, band_of(i)) == 0);
}

Test(reports_lists, filters_intersect_and_keep_the_order)
{
    static const struct {
        const char *query;
        int year, sen, pa, sa, stage;
        const char *band;
    } f[] = {
        {"year=7", 7, 0, 0, 0, 0, NULL},
        {"cohort=sen", 0, 1, 0, 0, 0, NULL},
        {"pa=1", 0, 0, 1, 0, 0, NULL},
        {"sa=1", 0, 0, 0, 1, 0, NULL},
        {"band=red&year=8", 8, 0, 0, 0, 0, "red"},
        {"stage=unauthorised:stage_1&cohort=sen", 0, 1, 0, 0, 1, NULL},
        {"pa=1&year=7&band=red", 7, 0, 1, 0, 0, "red"},
        {"band=amber&pa=0", 0, 0, 0, 0, 0, "amber"},
    };
    for (size_t k = 0; k < sizeof f / sizeof *f; k++) {
        char path[160];
        long total;
        snprintf(path, sizeof path, "/v1/schools/%s/pupils?%s", S1, f[k].query);
        json_t *a = list(path, "tok-admin", &total, NULL, 0);
        size_t row = 0;
        for (int i = NPUPILS - 1; i >= 0; i--) {
            if (!matches(i, f[k].year, f[k].sen, f[k].pa, f[k].sa, f[k].stage, f[k].band))
                continue;
            cr_expect_str_eq(str(json_array_get(a, row), "upn"), upns[i], "%s row %zu", f[k].query,
                             row);
            row++;
        }
        if (f[k].year == 7 && !f[k].band && !f[k].pa)
            row++; /* the pupil without a percentage is in year 7 */
        cr_expect_eq(json_array_size(a), row, "%s", f[k].query);
        cr_expect_eq((size_t)total, row, "%s", f[k].query);
        json_decref(a);
    }
    /* on no stage of the track: everyone not on stage_1, the pupil without
     * a percentage included (last); with another filter too */
    long total;
    json_t *a =
        list("/v1/schools/" S1 "/pupils?stage=unauthorised:none", "tok-s1", &total, NULL, 0);
    cr_expect_eq(total, NPUPILS + 1 - 4);
    size_t row = 0;
    for (int i = NPUPILS - 1; i >= 0; i--)
        if (i < 4 || i >= 8)
            cr_expect_str_eq(str(json_array_get(a, row++), "upn"), upns[i]);
    cr_expect_str_eq(str(json_array_get(a, row), "upn"), upns[NPUPILS]);
    json_decref(a);
    a = list("/v1/schools/" S1 "/pupils?stage=unauthorised:none&cohort=sen", "tok-s1", &total, NULL,
             0);
    cr_expect_eq(total, 3, "pupils 0, 3 and 9");
    json_decref(a);
    a = list("/v1/schools/" S1 "/pupils?stage=lateness:none", "tok-s1", &total, NULL, 0);
    cr_expect_eq(total, NPUPILS + 1, "a track with no stage in use: everyone");
    json_decref(a);
}

Test(reports_lists, pages_cover_every_row_once)
{
    char path[256] = "/v1/schools/" S1 "/pupils?year=7&limit=2", link[512];
    int seen[NPUPILS + 1] = {0}, pages = 0;
    long total, rows = 0;
    for (;;) {
        json_t *a = list(path, "tok-s1", &total, link, sizeof link);
        cr_assert_leq(json_array_size(a), 2);
        size_t i;
        json_t *row;
        json_array_foreach(a, i, row)
        {
            for (int k = 0; k <= NPUPILS; k++)
                seen[k] += strcmp(str(row, "upn"), upns[k]) == 0;
            rows++;
        }
        json_decref(a);
        pages++;
        if (!link[0])
            break;
        /* Link: </v1/...?year=7&limit=2&offset=2>; rel="next" */
        cr_assert_eq(link[0], '<', "%s", link);
        cr_assert(strstr(link, ">; rel=\"next\""), "%s", link);
        snprintf(path, sizeof path, "%.*s", (int)(strchr(link, '>') - link - 1), link + 1);
        cr_assert(strstr(path, "year=7"), "the filters are kept: %s", path);
        cr_assert_lt(pages, 20);
    }
    cr_expect_eq(rows, total);
    cr_expect_eq(pages, (total + 1) / 2);
    for (int k = 0; k <= NPUPILS; k++)
        cr_expect_eq(seen[k], (k == NPUPILS || k % 2 == 0) ? 1 : 0, "pupil %d", k);
    /* an offset past the end: no rows, the total still told */
    json_t *a = list("/v1/schools/" S1 "/pupils?offset=50", "tok-s1", &total, link, sizeof link);
    cr_expect_eq(json_array_size(a), 0);
    cr_expect_eq(total, NPUPILS + 1);
    cr_expect_str_eq(link, "");
    json_decref(a);
}

Test(reports_lists, bad_parameters_are_named)
{
    static const struct {
        const char *query, *named;
    } bad[] = {
        {"limit=0", "limit=0: must be"},
        {"limit=1001", "limit=1001"},
        {"limit=ten", "limit=ten"},
        {"offset=-1", "offset=-1"},
        {"year=15", "year=15: must be a year group"},
        {"year=7x", "year=7x"},
        {"cohort=rich", "cohort=rich: must be sen"},
        {"pa=yes", "pa=yes"},
        {"sa=2", "sa=2"},
        {"stage=stage_1", "stage=stage_1: must be <track>:<stage>"},
        {"stage=unauthorised:", "stage=unauthorised:: must be"},
        {"band=re%20d", "band=re d"},
        {"format=xml", "format=xml: must be json or csv"},
        {"sort=name", "sort: this endpoint takes no such parameter"},
        {"year", "year: needs a value"},
        {"date=2025-09-10", "date: this endpoint"},
        {"pa=1&year=7&pa=1", "pa: is given twice"},
        /* names the school's policy does not have (rules records its order) */
        {"band=purple", "band=purple: not a band of the school's policy (green,amber,red)"},
        {"stage=truancy:stage_1",
         "stage=truancy:stage_1: the school's policy has no track truancy"},
        {"stage=lateness:stage_9", "no such stage on that track (letter_1, none)"},
        /* bytes that are not UTF-8 (or cut mid-character) are named as '?',
         * not refused by jansson as a 503 */
        {"year=%ff", "year=?: must be a year group"},
        {"%ff=1", "?: this endpoint takes no such parameter"},
        {"year=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%c3%a9", "...: must be a year group"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[128], why[512];
        snprintf(path, sizeof path, "/v1/schools/%s/pupils?%s", S1, bad[i].query);
        cr_expect_eq(status_of(path, "tok-s1", why, sizeof why), 400, "%s: %s", path, why);
        cr_expect(strstr(why, bad[i].named), "%s: %s", bad[i].query, why);
    }
    /* The pupil endpoint takes no parameter at all. */
    char path[128], why[512];
    snprintf(path, sizeof path, "/v1/schools/%s/pupils/%s?limit=1", S1, upns[0]);
    cr_expect_eq(status_of(path, "tok-s1", why, sizeof why), 400, "%s: %s", path, why);
    cr_expect(strstr(why, "limit: this endpoint takes no such parameter"), "%s", why);
}

/* ---- CSV ---- */

/* csv_line returns line n (0-based) of text, CRLF-ended, in out. */
static int csv_line(const char *text, int n, char *out, size_t cap)
{
    const char *p = text;
    for (int i = 0; i < n && p; i++)
        p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL;
    if (!p || !*p)
        return 0;
    const char *e = strstr(p, "\r\n");
    cr_assert(e, "a row without CRLF");
    snprintf(out, cap, "%.*s", (int)(e - p), p);
    return 1;
}

Test(reports_lists, csv_quotes_and_neutralises_formulas)
{
    ts_http_resp_t r = get("/v1/schools/" S1 "/pupils?format=csv", "tok-s1");
    char ct[128], cd[128], n[16], line[512];
    cr_assert_eq(r.status, 200, "%s", r.body);
    ts_http_header(&r, "Content-Type", ct, sizeof ct);
    ts_http_header(&r, "Content-Disposition", cd, sizeof cd);
    ts_http_header(&r, "X-Total-Count", n, sizeof n);
    cr_expect_str_eq(ct, "text/csv; charset=utf-8");
    cr_expect(strncmp(cd, "attachment", 10) == 0 && strstr(cd, ".csv"), "%s", cd);
    cr_expect_eq(strtol(n, NULL, 10), NPUPILS + 1);
    cr_assert(csv_line(r.body, 0, line, sizeof line));
    cr_expect(strncmp(line, "upn,forename,surname,year_group,possible_sessions,", 50) == 0, "%s",
              line);
    int rows = 0;
    while (csv_line(r.body, rows + 1, line, sizeof line))
        rows++;
    cr_expect_eq(rows, NPUPILS + 1, "every row, no page limit");
    char want[160];
    /* pupil 0 (best) is the 12th row: its surname a formula */
    cr_assert(csv_line(r.body, NPUPILS, line, sizeof line));
    snprintf(want, sizeof want, "%s,Pat,\"'=HYPERLINK(\"\"http://x\"\")\",7,100,100,0,0,100.0,",
             upns[0]);
    cr_expect(strncmp(line, want, strlen(want)) == 0, "%s\nwant %s", line, want);
    cr_assert(csv_line(r.body, NPUPILS - 1, line, sizeof line));
    cr_expect(strstr(line, ",Pat,'+SUM(A1),8,"), "%s", line);
    cr_assert(csv_line(r.body, NPUPILS - 2, line, sizeof line));
    cr_expect(strstr(line, ",'-2+3,"), "%s", line);
    cr_assert(csv_line(r.body, NPUPILS - 3, line, sizeof line));
    cr_expect(strstr(line, ",'@cmd,"), "%s", line);
    const char *tail = ",true,false,red,unauthorised=;lateness="; /* every track of the policy */
    cr_expect(strlen(line) > strlen(tail) && strcmp(line + strlen(line) - strlen(tail), tail) == 0,
              "%s", line);
    cr_assert(csv_line(r.body, NPUPILS - 5, line, sizeof line));
    cr_expect(strstr(line, ",\"Ann, \"\"Jr\"\"\",Smith,8,"), "%s", line);
    cr_expect(strstr(line, ",unauthorised=stage_1"), "%s", line);
    ts_http_resp_free(&r);

    /* with a page asked for, the page */
    r = get("/v1/schools/" S1 "/pupils?format=csv&limit=3&offset=1", "tok-s1");
    rows = 0;
    while (csv_line(r.body, rows + 1, line, sizeof line))
        rows++;
    cr_expect_eq(rows, 3);
    cr_assert(csv_line(r.body, 1, line, sizeof line));
    cr_expect(strncmp(line, upns[NPUPILS - 2], RC_UPN_LEN) == 0, "%s", line);
    ts_http_header(&r, "Link", line, sizeof line);
    cr_expect(strstr(line, "format=csv") && strstr(line, "offset=4"), "%s", line);
    ts_http_resp_free(&r);
}

/* ---- referrals, reviews, first-day absences ---- */

Test(reports_lists, school_referrals_newest_first_and_by_kind)
{
    long total;
    json_t *a = list("/v1/schools/" S1 "/referrals", "tok-s1", &total, NULL, 0);
    cr_assert_eq(total, 3);
    cr_assert_eq(json_array_size(a), 3);
    json_t *r0 = json_array_get(a, 0);
    cr_expect_str_eq(str(r0, "kind"), "stage_referral"); /* 09-09, seq 3 */
    cr_expect_str_eq(str(r0, "urn"), S1);
    cr_expect_str_eq(str(r0, "upn"), upns[4]);
    cr_expect_str_eq(str(r0, "date"), "2025-09-09");
    cr_expect_str_eq(str(r0, "event_id"), "ev-100201-3");
    cr_expect_str_eq(str(r0, "reason"), "stage_referral reached");
    cr_expect_str_eq(str(json_array_get(a, 1), "kind"), "penalty_threshold");
    cr_expect_str_eq(str(json_array_get(a, 2), "kind"), "severe_absence");
    json_decref(a);
    a = list("/v1/schools/" S1 "/referrals?kind=severe_absence", "tok-s1", &total, NULL, 0);
    cr_expect_eq(total, 1);
    cr_expect_str_eq(str(json_array_get(a, 0), "upn"), upns[11]);
    json_decref(a);
    char why[512];
    cr_expect_eq(status_of("/v1/schools/" S1 "/referrals?kind=alert", "tok-s1", why, sizeof why),
                 400);
    cr_expect(strstr(why, "kind=alert: must be cme"), "%s", why);
}

Test(reports_lists, la_referrals_across_schools)
{
    long total;
    json_t *a = list("/v1/la/909/referrals", "tok-la909", &total, NULL, 0);
    cr_assert_eq(total, 4, "S1's three and S2's one, not S3's (LA 910)");
    json_t *r0 = json_array_get(a, 0);
    cr_expect_str_eq(str(r0, "urn"), S2);
    cr_expect_str_eq(str(r0, "kind"), "cme");
    cr_expect_str_eq(str(r0, "school_name"), "Elm");
    cr_expect_str_eq(str(json_array_get(a, 3), "school_name"), "Oak, \"North\"");
    json_decref(a);
    a = list("/v1/la/909/referrals?since=2025-09-09&urn=" S1, "tok-la909", &total, NULL, 0);
    cr_expect_eq(total, 2);
    json_decref(a);
    a = list("/v1/la/909/referrals?kind=cme&limit=1", "tok-admin", &total, NULL, 0);
    cr_expect_eq(total, 1);
    json_decref(a);
    char why[512];
    cr_expect_eq(status_of("/v1/la/909/referrals?urn=" S3, "tok-la909", why, sizeof why), 400);
    cr_expect(strstr(why, "urn: 100203 is not a school of LA 909"), "%s", why);
    cr_expect_eq(status_of("/v1/la/909/referrals?since=2025-9-1", "tok-la909", why, sizeof why),
                 400);
    cr_expect(strstr(why, "since=2025-9-1: must be a date"), "%s", why);
    ts_http_resp_t r = get("/v1/la/909/referrals?format=csv", "tok-la909");
    char line[256];
    cr_assert(csv_line(r.body, 0, line, sizeof line));
    cr_expect_str_eq(line, "urn,upn,kind,date,reason,event_id,school_name");
    cr_assert(csv_line(r.body, 4, line, sizeof line));
    cr_expect(strstr(line, ",\"Oak, \"\"North\"\"\""), "%s", line);
    ts_http_resp_free(&r);
}

Test(reports_lists, reviews_due_and_overdue)
{
    long total;
    json_t *a = list("/v1/schools/" S1 "/reviews", "tok-s1", &total, NULL, 0);
    cr_assert_eq(total, 2, "within 7 days of 2025-09-10, overdue included");
    json_t *r0 = json_array_get(a, 0), *r1 = json_array_get(a, 1);
    cr_expect_str_eq(str(r0, "upn"), upns[4]);
    cr_expect_str_eq(str(r0, "review_date"), "2025-09-05");
    cr_expect(json_is_true(json_object_get(r0, "overdue")));
    cr_expect_str_eq(str(r0, "track"), "unauthorised");
    cr_expect_str_eq(str(r0, "stage"), "stage_1");
    cr_expect_str_eq(str(r0, "surname"), "Smith");
    cr_expect_str_eq(str(r1, "review_date"), "2025-09-13");
    cr_expect(json_is_false(json_object_get(r1, "overdue")));
    cr_expect(json_is_null(json_object_get(r1, "stage")), "no lateness stage stored");
    json_decref(a);
    a = list("/v1/schools/" S1 "/reviews?within_days=30", "tok-s1", &total, NULL, 0);
    cr_expect_eq(total, 3);
    json_decref(a);
    char why[256];
    cr_expect_eq(status_of("/v1/schools/" S1 "/reviews?within_days=-1", "tok-s1", why, sizeof why),
                 400);
}

Test(reports_lists, first_day_absences_with_their_messages)
{
    long total;
    json_t *a = list("/v1/schools/" S1 "/first-day-absences", "tok-s1", &total, NULL, 0);
    cr_assert_eq(total, 2, "the school's today, 2025-09-10");
    json_t *r0 = json_array_get(a, 0);
    cr_expect_str_eq(str(r0, "upn"), upns[1]);
    cr_expect_str_eq(str(r0, "date"), "2025-09-10");
    cr_expect_str_eq(str(r0, "reason"), "absent with no reason at 09:30");
    cr_expect_str_eq(str(r0, "surname"), "+SUM(A1)");
    cr_expect_str_eq(str(r0, "session"), "PM", "the session the event names (seq 4: PM)");
    cr_expect_str_eq(str(json_array_get(a, 1), "session"), "AM", "seq 5: AM");
    json_t *msgs = json_object_get(r0, "messages");
    cr_assert_eq(json_array_size(msgs), 2, "the other event's message is not listed");
    json_t *m0 = json_array_get(msgs, 0), *m1 = json_array_get(msgs, 1);
    cr_expect_str_eq(str(m0, "channel"), "sms");
    cr_expect_str_eq(str(m0, "contact_id"), "c-1");
    cr_expect_str_eq(str(m0, "status"), "delivered");
    cr_expect_str_eq(str(m0, "at"), "2025-09-10T08:01:40Z", "the latest audit entry's time");
    cr_expect_str_eq(str(m1, "channel"), "email");
    cr_expect_str_eq(str(m1, "status"), "failed");
    cr_expect_eq(json_array_size(json_object_get(json_array_get(a, 1), "messages")), 0);
    json_decref(a);
    a = list("/v1/schools/" S1 "/first-day-absences?date=2025-09-09", "tok-s1", &total, NULL, 0);
    cr_expect_eq(total, 1);
    cr_expect_str_eq(str(json_array_get(a, 0), "upn"), upns[3]);
    json_decref(a);
    a = list("/v1/schools/" S2 "/first-day-absences", "tok-admin", &total, NULL, 0);
    cr_expect_eq(total, 0);
    json_decref(a);
    ts_http_resp_t r = get("/v1/schools/" S1 "/first-day-absences?format=csv", "tok-s1");
    char line[512];
    cr_assert(csv_line(r.body, 1, line, sizeof line));
    cr_expect(strstr(line, ",'+SUM(A1),"), "%s", line);
    cr_expect(strstr(line, "sms:c-1:delivered:2025-09-10T08:01:40Z;email:c-2:failed:"), "%s", line);
    ts_http_resp_free(&r);
}

/* The school's print queue: newest first (same day by key), each with its
 * text and the pupil's name; since= cuts it; the CSV keeps each letter's
 * lines inside one quoted cell and defuses a formula in a name. */
Test(reports_lists, letters_to_print_newest_first_with_their_text)
{
    long total;
    json_t *a = list("/v1/schools/" S1 "/letters", "tok-s1", &total, NULL, 0);
    cr_assert_eq(total, 3);
    cr_assert_eq(json_array_size(a), 3);
    cr_expect_str_eq(str(json_array_get(a, 0), "key"), "lt-b", "2025-09-10, keys descending");
    cr_expect_str_eq(str(json_array_get(a, 1), "key"), "lt-a");
    cr_expect_str_eq(str(json_array_get(a, 2), "key"), "lt-c", "the oldest last");
    json_t *r1 = json_array_get(a, 1);
    cr_expect_str_eq(str(r1, "letter"), "Dear Ann Smith,\nLetter A: 90.0%");
    cr_expect_str_eq(str(r1, "addressee"), "Ann Smith");
    cr_expect_str_eq(str(r1, "upn"), upns[2]);
    cr_expect_str_eq(str(r1, "state"), "sent");
    cr_expect_str_eq(str(r1, "date"), "2025-09-10");
    json_decref(a);
    a = list("/v1/schools/" S1 "/letters?since=2025-09-04&limit=1", "tok-s1", &total, NULL, 0);
    cr_expect_eq(total, 2, "since cuts the older letter");
    cr_expect_eq(json_array_size(a), 1);
    json_decref(a);
    ts_http_resp_t r = get("/v1/schools/" S1 "/letters?format=csv", "tok-s1");
    cr_expect(strstr(r.body, "\"Dear Bob Smith,\nLetter A: 90.0%\""), "%s", r.body);
    cr_expect(strstr(r.body, ",'=Bob,"), "the addressee's formula is defused: %s", r.body);
    ts_http_resp_free(&r);
    r = get("/v1/schools/" S3 "/letters", "tok-s1");
    cr_expect_eq(r.status, 403, "a school's token reads no other school's letters");
    ts_http_resp_free(&r);
    r = get("/v1/schools/" S1 "/letters?date=2025-09-10", "tok-s1");
    cr_expect_eq(r.status, 400, "letters take since, not date");
    ts_http_resp_free(&r);
}

/* ---- the CSV writer as a unit ---- */

Test(reports_csv, quoting_and_formula_defence)
{
    static const struct {
        const char *in, *out;
    } cells[] = {
        {"plain", "plain"},
        {"", ""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"=1+1", "'=1+1"},
        {"+44 7700", "'+44 7700"},
        {"-5", "'-5"},
        {"@SUM(A1)", "'@SUM(A1)"},
        {"\tx", "'\tx"},
        {"\rx", "\"'\rx\""},
        {"=A1,\"x\"", "\"'=A1,\"\"x\"\"\""},
        {"a=b", "a=b"},
    };
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++) {
        csv_t c = {0};
        csv_cell(&c, cells[i].in);
        cr_expect_str_eq(c.len ? c.buf : "", cells[i].out, "cell %zu", i);
        free(c.buf);
    }
    json_t *rows = json_loads("[{\"a\":-1,\"b\":95.25,\"c\":true,\"d\":null,\"e\":{\"t\":\"s\"},"
                              "\"f\":[{\"x\":\"=1\",\"y\":2}],\"g\":\"-x\"}]",
                              0, NULL);
    cr_assert(rows);
    const char *cols[] = {"a", "b", "c", "d", "e", "f", "g", "missing"};
    char *text = reports_csv_rows(rows, cols, 8);
    cr_expect_str_eq(text, "a,b,c,d,e,f,g,missing\r\n-1,95.2,true,,t=s,'=1:2,'-x,\r\n");
    free(text);
    json_decref(rows);
    rows = json_array();
    text = reports_csv_rows(rows, cols, 2);
    cr_expect_str_eq(text, "a,b\r\n", "a header even without rows");
    free(text);
    json_decref(rows);
}
