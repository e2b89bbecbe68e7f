/* test_reports.c - rollcall-reports' HTTP API as a process against a
 * throwaway Redis: the whole access matrix of bearer-token scopes, then the
 * pupil endpoint's fields and timeline, read from keys written here as rules
 * and notify write them; and the tokens file's parser as a unit. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "reports/reports_auth.h"
#include "rollcall/ids.h"
#include "testsupport.h"

static ts_redis_t redis;
static ts_proc_t reports;
static int http_port;
static char upn_a1[RC_UPN_LEN + 1], upn_a2[RC_UPN_LEN + 1], upn_b1[RC_UPN_LEN + 1],
    upn_c1[RC_UPN_LEN + 1];

/* Schools: A in LA 201 and trust TR1, B in LA 202 and trust TR2, C in LA 201
 * and no trust. */
#define URN_A "100001"
#define URN_B "100002"
#define URN_C "100003"

/* rows of the access matrices below, in this order */
static const ts_token_t tokens[] = {{"tok-admin", "admin", "ops-admin"},
                                    {"tok-school-a", "school:" URN_A, "slt-100001"},
                                    {"tok-trust-1", "trust:TR1", "trust-one ceo"},
                                    {"tok-la-201", "la:201", "la-201"},
                                    {"tok-mixed", "school:" URN_C ",trust:TR2", "mixed"}};

static void make_upn(const char *rest12, char out[RC_UPN_LEN + 1])
{
    out[0] = upn_check_letter(rest12);
    cr_assert(out[0], "bad UPN body %s", rest12);
    memcpy(out + 1, rest12, 13);
}

static void cmd(redisContext *c, redisReply *r)
{
    cr_assert(r, "redis: %s", c->errstr);
    cr_assert_neq(r->type, REDIS_REPLY_ERROR, "redis: %s", r->str);
    freeReplyObject(r);
}

/* put_event encodes a pupil event of school A and writes it as outbox entry
 * seq, as rules does. */
static void put_event(redisContext *c, uint64_t seq, const char *upn, event_kind_t kind,
                      rc_date_t date)
{
    wire_msg_t m;
    char why[CODEC_WHY_MAX] = "";
    uint8_t *buf;
    size_t len;
    codec_msg_init(&m, WIRE_PUPIL_EVENT);
    snprintf(m.event_id, sizeof m.event_id, "ev-%llu", (unsigned long long)seq);
    m.seq = seq;
    strcpy(m.urn, URN_A);
    pupil_event_t *e = &m.u.event;
    e->kind = kind;
    strcpy(e->la_code, "201");
    strcpy(e->upn, upn);
    e->date = date;
    e->metrics = (metrics_t){.possible_sessions = 20,
                             .attended_sessions = 16,
                             .authorised_absences = 1,
                             .unauthorised_absences = 3};
    if (kind == EVENT_STAGE_CHANGE) {
        strcpy(e->track, "unauthorised");
        strcpy(e->stage_to, "stage_1");
        strcpy(e->reason, "3 unauthorised sessions in 10 weeks");
    } else if (kind == EVENT_ALERT) {
        e->alert = ALERT_FIRST_DAY_ABSENCE;
        strcpy(e->reason, "absent with no reason");
    } else {
        e->referral = REFERRAL_PENALTY_THRESHOLD;
        strcpy(e->reason, "penalty threshold reached");
    }
    cr_assert_eq(codec_encode(&m, &buf, &len, why), RC_OK, "%s", why);
    cmd(c, redisCommand(c, "XADD rs:outbox:{%s} %llu-0 e %b", URN_A, (unsigned long long)seq, buf,
                        len));
    cmd(c, redisCommand(c, "RPUSH rs:hist:{%s}:%s %llu", URN_A, upn, (unsigned long long)seq));
    free(buf);
}

static void seed(void)
{
    redisContext *c = ts_redis_connect(&redis);
    make_upn("801200001001", upn_a1);
    make_upn("801200001002", upn_a2);
    make_upn("801200002001", upn_b1);
    make_upn("801200003001", upn_c1);
    cmd(c, redisCommand(c, "HSET rc:school:{%s} name A la_code 201 trust_id TR1", URN_A));
    cmd(c, redisCommand(c, "HSET rc:school:{%s} name B la_code 202 trust_id TR2", URN_B));
    cmd(c, redisCommand(c, "HSET rc:school:{%s} name C la_code 201 trust_id %s", URN_C, ""));
    cmd(c, redisCommand(c, "SADD rc:la:201 %s %s", URN_A, URN_C));
    cmd(c, redisCommand(c, "SADD rc:la:202 %s", URN_B));
    cmd(c, redisCommand(c, "SADD rc:trust:TR1 %s", URN_A));
    cmd(c, redisCommand(c, "SADD rc:trust:TR2 %s", URN_B));
    cmd(c, redisCommand(
               c,
               "HSET rs:pupil:{%s}:%s slots xx possible_sessions 20 attended_sessions 16 "
               "authorised_absences 1 unauthorised_absences 3 late_before_close 2 "
               "late_after_close 1 penalty_window_unauthorised 3 consecutive_unexplained_days 1 "
               "attendance_pct 80.0 persistent_absentee 1 severe_absentee 0 as_of 2025-09-12 "
               "band concern policy x stage:unauthorised stage_1 stage:illness %s",
               URN_A, upn_a1, ""));
    cmd(c, redisCommand(c, "SADD rs:pupils:{%s} %s", URN_A, upn_a1));
    /* A2 is on the roll but has no state yet; B1 and C1 have state */
    cmd(c, redisCommand(c, "SADD rc:pupils:{%s} %s %s", URN_A, upn_a1, upn_a2));
    cmd(c, redisCommand(c, "HSET rs:pupil:{%s}:%s possible_sessions 4 attendance_pct 100.0", URN_B,
                        upn_b1));
    cmd(c, redisCommand(c, "HSET rs:pupil:{%s}:%s possible_sessions 6 attendance_pct 50.0", URN_C,
                        upn_c1));
    rc_date_t d10 = date_from_ymd(2025, 9, 10);
    put_event(c, 1, upn_a1, EVENT_STAGE_CHANGE, d10);
    put_event(c, 2, upn_a2, EVENT_ALERT, d10); /* another pupil's: not in A1's timeline */
    put_event(c, 3, upn_a1, EVENT_REFERRAL, date_from_ymd(2025, 9, 12));
    cmd(c, redisCommand(c,
                        "RPUSH rn:audit:{%s}:%s 1757491200000000:delivered:ref-one "
                        "1757755800000000:failed_permanent:ref-two",
                        URN_A, upn_a1));
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
    ts_start_reports(&reports, &redis, http_port, 0, tokens_path, "--log-level", "debug", NULL);
}

static void teardown(void)
{
    if (reports.pid > 0) /* a test may have stopped it to read its log */
        cr_expect_eq(ts_proc_stop(&reports, SIGTERM, 5000), 0);
    ts_redis_stop(&redis);
}

TestSuite(reports, .init = setup, .fini = teardown, .timeout = 60);

typedef struct {
    long status;
    char body[65536];
    char challenge[128]; /* WWW-Authenticate, "" when absent */
    char allow[64];
} reply_t;

/* request sends method path with token as bearer (none when NULL); a POST
 * carries "{}". */
static reply_t *request(const char *method, const char *path, const char *token)
{
    static reply_t r;
    ts_http_req_t req = {.timeout_ms = 10000};
    if (strcmp(method, "POST") == 0)
        req.body = "{}", req.len = 2;
    ts_http_resp_t got = ts_http_request_bearer(http_port, method, path, token, &req);
    memset(&r, 0, sizeof r);
    r.status = got.status;
    cr_assert_lt(got.len, sizeof r.body, "%s %s: a body of %zu bytes", method, path, got.len);
    memcpy(r.body, got.body ? got.body : "", got.len);
    ts_http_header(&got, "WWW-Authenticate", r.challenge, sizeof r.challenge);
    ts_http_header(&got, "Allow", r.allow, sizeof r.allow);
    ts_http_resp_free(&got);
    return &r;
}

static long get_status(const char *path, const char *token)
{
    return request("GET", path, token)->status;
}

static void pupil_path(char *out, size_t cap, const char *urn, const char *upn)
{
    snprintf(out, cap, "/v1/schools/%s/pupils/%s", urn, upn);
}

Test(reports, access_matrix)
{
    const char *urns[3] = {URN_A, URN_B, URN_C};
    const char *upns[3] = {upn_a1, upn_b1, upn_c1};
    /* rows: tokens[] in order; columns: schools A, B, C */
    static const long want[5][3] = {
        {200, 200, 200}, /* admin */
        {200, 403, 403}, /* school:A */
        {200, 403, 403}, /* trust:TR1 (A only; C has no trust) */
        {200, 403, 200}, /* la:201 (A and C) */
        {403, 200, 200}, /* school:C,trust:TR2 */
    };
    char path[128];
    for (int s = 0; s < 3; s++) {
        pupil_path(path, sizeof path, urns[s], upns[s]);
        for (int t = 0; t < 5; t++)
            cr_expect_eq(get_status(path, tokens[t].token), want[t][s], "token %s on %s: %s",
                         tokens[t].token, urns[s], request("GET", path, tokens[t].token)->body);
        reply_t *r = request("GET", path, NULL);
        cr_expect_eq(r->status, 401, "no token on %s", urns[s]);
        cr_expect_str_eq(r->challenge, "Bearer realm=\"rollcall-reports\"");
        cr_expect(strstr(r->body, "\"error\""), "%s", r->body);
        r = request("GET", path, "tok-wrong");
        cr_expect_eq(r->status, 401, "wrong token on %s", urns[s]);
        cr_expect(strstr(r->challenge, "error=\"invalid_token\""), "%s", r->challenge);
        /* the hash itself is not a token */
        cr_expect_eq(get_status(path, "tok-admin "), 200);
        cr_expect_eq(get_status(path, "tok-admi"), 401);
    }
    /* a school nobody scoped: only admin sees it exists (404), others 403 */
    pupil_path(path, sizeof path, "100009", upn_a1);
    cr_expect_eq(get_status(path, "tok-admin"), 404);
    cr_expect_eq(get_status(path, "tok-school-a"), 403);
    cr_expect_eq(get_status(path, "tok-la-201"), 403);
    /* the scheme must be Bearer: Basic tok-admin:x is refused */
    pupil_path(path, sizeof path, URN_A, upn_a1);
    const char *basic[] = {"Authorization: Basic dG9rLWFkbWluOng=", NULL};
    ts_http_resp_t r = ts_http_request(http_port, "GET", path, &(ts_http_req_t){.headers = basic});
    cr_expect_eq(r.status, 401);
    ts_http_resp_free(&r);
}

/* The school's other endpoints follow the same matrix as its pupils; a
 * trust's summary needs trust:<id> (or admin), an LA's paths la:<code>. */
Test(reports, access_matrix_of_school_trust_and_la_paths)
{
    const char *urns[3] = {URN_A, URN_B, URN_C};
    static const long school[5][3] = {
        {200, 200, 200}, {200, 403, 403}, {200, 403, 403}, {200, 403, 200}, {403, 200, 200}};
    static const char *const leaves[] = {"summary", "pupils",    "first-day-absences",
                                         "reviews", "referrals", "pupils?format=csv"};
    char path[128];
    for (size_t l = 0; l < sizeof leaves / sizeof *leaves; l++)
        for (int s = 0; s < 3; s++) {
            snprintf(path, sizeof path, "/v1/schools/%s/%s", urns[s], leaves[l]);
            for (int t = 0; t < 5; t++)
                cr_expect_eq(get_status(path, tokens[t].token), school[t][s], "token %s on %s: %s",
                             tokens[t].token, path, request("GET", path, tokens[t].token)->body);
            cr_expect_eq(get_status(path, NULL), 401, "%s", path);
            cr_expect_eq(get_status(path, "tok-wrong"), 401, "%s", path);
        }
    static const struct {
        const char *path;
        long want[5]; /* tokens[] in order */
    } groups[] = {
        {"/v1/trusts/TR1/summary", {200, 403, 200, 403, 403}},
        {"/v1/trusts/TR2/summary", {200, 403, 403, 403, 200}},
        {"/v1/la/201/summary", {200, 403, 403, 200, 403}},
        {"/v1/la/202/summary", {200, 403, 403, 403, 403}},
        {"/v1/la/201/referrals", {200, 403, 403, 200, 403}},
        {"/v1/la/202/referrals?format=csv", {200, 403, 403, 403, 403}},
        {"/v1/trusts/TR9/summary", {404, 403, 403, 403, 403}},
        {"/v1/la/209/referrals", {404, 403, 403, 403, 403}},
    };
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        for (int t = 0; t < 5; t++)
            cr_expect_eq(get_status(groups[g].path, tokens[t].token), groups[g].want[t],
                         "token %s on %s: %s", tokens[t].token, groups[g].path,
                         request("GET", groups[g].path, tokens[t].token)->body);
        cr_expect_eq(get_status(groups[g].path, NULL), 401, "%s", groups[g].path);
    }
    /* unknown school: only admin learns it does not exist */
    cr_expect_eq(get_status("/v1/schools/100009/summary", "tok-admin"), 404);
    cr_expect_eq(get_status("/v1/schools/100009/summary", "tok-la-201"), 403);
    cr_expect_eq(request("POST", "/v1/la/201/summary", "tok-admin")->status, 405);
    cr_expect_eq(get_status("/v1/la/201/summary/x", "tok-admin"), 404);
    cr_expect_eq(get_status("/v1/schools/1234567/summary", "tok-admin"), 400);
}

static json_t *get_json(const char *path, const char *token)
{
    reply_t *r = request("GET", path, token);
    cr_assert_eq(r->status, 200, "%s: %ld %s", path, r->status, r->body);
    json_error_t err;
    json_t *o = json_loads(r->body, 0, &err);
    cr_assert(o, "%s: %s", err.text, r->body);
    return o;
}

static json_int_t int_of(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_integer(v), "%s is not an integer", k);
    return json_integer_value(v);
}

static const char *str_of(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_string(v), "%s is not a string", k);
    return json_string_value(v);
}

Test(reports, pupil_fields_and_timeline)
{
    char path[128];
    pupil_path(path, sizeof path, URN_A, upn_a1);
    json_t *o = get_json(path, "tok-school-a");
    cr_expect_str_eq(str_of(o, "urn"), URN_A);
    cr_expect_str_eq(str_of(o, "upn"), upn_a1);
    cr_expect_eq(int_of(o, "possible_sessions"), 20);
    cr_expect_eq(int_of(o, "attended_sessions"), 16);
    cr_expect_eq(int_of(o, "authorised_absences"), 1);
    cr_expect_eq(int_of(o, "unauthorised_absences"), 3);
    cr_expect_eq(int_of(o, "late_before_close"), 2);
    cr_expect_eq(int_of(o, "late_after_close"), 1);
    cr_expect_eq(int_of(o, "penalty_window_unauthorised"), 3);
    cr_expect_eq(int_of(o, "consecutive_unexplained_days"), 1);
    json_t *pct = json_object_get(o, "attendance_pct");
    cr_expect(json_is_number(pct));
    cr_expect_float_eq(json_number_value(pct), 80.0, 1e-9);
    cr_expect(json_is_true(json_object_get(o, "persistent_absentee")));
    cr_expect(json_is_false(json_object_get(o, "severe_absentee")));
    cr_expect_str_eq(str_of(o, "band"), "concern");
    cr_expect_str_eq(str_of(o, "as_of"), "2025-09-12");
    json_t *stages = json_object_get(o, "stages");
    cr_assert(json_is_object(stages));
    cr_expect_eq(json_object_size(stages), 2);
    cr_expect_str_eq(str_of(stages, "unauthorised"), "stage_1");
    cr_expect(json_is_null(json_object_get(stages, "illness")));
    cr_expect_null(json_object_get(o, "slots"));
    cr_expect_null(json_object_get(o, "policy"));

    /* events 1 and 3 (2 is A2's), and both messages, in time order */
    json_t *t = json_object_get(o, "timeline");
    cr_assert(json_is_array(t));
    cr_assert_eq(json_array_size(t), 4, "%s", request("GET", path, "tok-admin")->body);
    json_t *e1 = json_array_get(t, 0), *m1 = json_array_get(t, 1), *e3 = json_array_get(t, 2),
           *m2 = json_array_get(t, 3);
    cr_expect_str_eq(str_of(e1, "type"), "event");
    cr_expect_eq(int_of(e1, "seq"), 1);
    cr_expect_str_eq(str_of(e1, "event_id"), "ev-1");
    cr_expect_str_eq(str_of(e1, "kind"), "stage_change");
    cr_expect_str_eq(str_of(e1, "date"), "2025-09-10");
    cr_expect_str_eq(str_of(e1, "track"), "unauthorised");
    cr_expect_str_eq(str_of(e1, "stage_from"), "");
    cr_expect_str_eq(str_of(e1, "stage_to"), "stage_1");
    cr_expect_str_eq(str_of(e1, "reason"), "3 unauthorised sessions in 10 weeks");
    cr_expect_str_eq(str_of(m1, "type"), "message");
    cr_expect_str_eq(str_of(m1, "at"), "2025-09-10T08:00:00Z");
    cr_expect_str_eq(str_of(m1, "status"), "delivered");
    cr_expect_str_eq(str_of(m1, "reference"), "ref-one");
    cr_expect_str_eq(str_of(e3, "kind"), "referral");
    cr_expect_eq(int_of(e3, "seq"), 3);
    cr_expect_str_eq(str_of(e3, "referral"), "penalty_threshold");
    cr_expect_str_eq(str_of(e3, "date"), "2025-09-12");
    cr_expect_null(json_object_get(e3, "alert"));
    cr_expect_str_eq(str_of(m2, "at"), "2025-09-13T09:30:00Z");
    cr_expect_str_eq(str_of(m2, "status"), "failed_permanent");
    cr_expect_str_eq(str_of(m2, "reference"), "ref-two");
    json_decref(o);

    /* A2: on the roll without state; its one event is an alert */
    pupil_path(path, sizeof path, URN_A, upn_a2);
    o = get_json(path, "tok-trust-1");
    cr_expect_eq(int_of(o, "possible_sessions"), 0);
    cr_expect(json_is_null(json_object_get(o, "attendance_pct")));
    cr_expect(json_is_null(json_object_get(o, "as_of")));
    cr_expect_eq(json_object_size(json_object_get(o, "stages")), 0);
    t = json_object_get(o, "timeline");
    cr_assert_eq(json_array_size(t), 1);
    cr_expect_str_eq(str_of(json_array_get(t, 0), "kind"), "alert");
    cr_expect_str_eq(str_of(json_array_get(t, 0), "alert"), "first_day_absence");
    json_decref(o);
}

Test(reports, unknown_pupil_bad_ids_and_methods)
{
    char path[128], other[RC_UPN_LEN + 1];
    make_upn("801200001099", other);
    pupil_path(path, sizeof path, URN_A, other);
    reply_t *r = request("GET", path, "tok-school-a");
    cr_expect_eq(r->status, 404, "%s", r->body);
    cr_expect(strstr(r->body, "\"error\""), "%s", r->body);
    /* B1 is B's pupil, not A's */
    pupil_path(path, sizeof path, URN_A, upn_b1);
    cr_expect_eq(get_status(path, "tok-admin"), 404);
    pupil_path(path, sizeof path, URN_A, "not-a-upn");
    cr_expect_eq(get_status(path, "tok-admin"), 400);
    pupil_path(path, sizeof path, "12345", upn_a1);
    cr_expect_eq(get_status(path, "tok-admin"), 400);
    cr_expect_eq(get_status("/v1/nowhere", "tok-admin"), 404);
    cr_expect_eq(get_status("/v1/schools/100001/pupils/", "tok-admin"), 404);

    pupil_path(path, sizeof path, URN_A, upn_a1);
    r = request("POST", path, "tok-admin");
    cr_expect_eq(r->status, 405, "%s", r->body);
    cr_expect_str_eq(r->allow, "GET");
    cr_expect_eq(request("DELETE", path, "tok-admin")->status, 405);
    cr_expect_eq(request("POST", "/healthz", NULL)->status, 405);
}

Test(reports, healthz_needs_no_token)
{
    reply_t *r = request("GET", "/healthz", NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "{\"status\":\"ok\"}");
}

Test(reports, tokens_never_logged)
{
    char path[128];
    pupil_path(path, sizeof path, URN_A, upn_a1);
    cr_expect_eq(get_status(path, "tok-admin"), 200);
    cr_expect_eq(get_status(path, "tok-wrong"), 401);
    cr_expect_eq(get_status(path, "tok-school-a"), 200);
    cr_assert_eq(ts_proc_stop(&reports, SIGTERM, 5000), 0);
    FILE *f = fopen(reports.log, "r");
    cr_assert(f);
    static char log[1 << 20];
    size_t n = fread(log, 1, sizeof log - 1, f);
    log[n] = '\0';
    fclose(f);
    cr_expect(strstr(log, "\"label\":\"ops-admin\""), "%s", log);
    cr_expect_null(strstr(log, "tok-"), "a token leaked into the log");
    cr_expect_null(strstr(log, upn_a1), "a UPN in clear in the log");
    cr_expect(strstr(log, "\"reports.http_stats\",\"ok\":2,\"unauthorised\":1"), "%s", log);
}

/* The tokens file's parser, without a process. */
#define HASH64 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" /* "test" */

static rc_err_t parse(const char *text, reports_tokens_t **t, char err[REPORTS_ERR_MAX])
{
    return reports_tokens_parse(text, strlen(text), t, err);
}

Test(tokens_file, lines_parsed_and_checked)
{
    reports_tokens_t *t = NULL;
    char err[REPORTS_ERR_MAX];
    cr_assert_eq(
        parse("# c\n\n" HASH64 " school:100001,la:201,trust:T-1,admin  slt one \r\n", &t, err),
        RC_OK, "%s", err);
    cr_assert_eq(reports_tokens_count(t), 1);
    const reports_token_t *k = reports_tokens_find(t, "test", 4);
    cr_assert(k);
    cr_expect_str_eq(k->label, "slt one");
    cr_expect_eq(k->nscopes, 4);
    cr_expect_null(reports_tokens_find(t, "tesT", 4));
    cr_expect_null(reports_tokens_find(t, HASH64, 64));
    reports_tokens_destroy(&t);
    reports_tokens_destroy(&t);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {HASH64 "\n", "line 1: expected scopes"},
        {"\n" HASH64 " admin\n", "line 2: expected a label"},
        {"abc admin x\n", "line 1: expected 64 hex"},
        {HASH64 " school:12345 x\n", "line 1: a scope is not"},
        {HASH64 " la:20 x\n", "line 1: a scope is not"},
        {HASH64 " trust: x\n", "line 1: a scope is not"},
        {HASH64 " root x\n", "line 1: a scope is not"},
        {HASH64 " admin, x\n", "line 1: empty scope"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(parse(bad[i].text, &t, err), RC_EPARSE, "%s", bad[i].text);
        cr_expect_null(t);
        cr_expect(strstr(err, bad[i].why), "%s: %s", bad[i].text, err);
        cr_expect_null(strstr(err, HASH64));
    }
}

Test(tokens_file, scopes_cover_their_schools)
{
    reports_token_t t = {.nscopes = 2, .scopes = {{SCOPE_TRUST, "TR1"}, {SCOPE_LA, "201"}}};
    cr_expect(reports_token_may_read(&t, "100001", "202", "TR1"));
    cr_expect(reports_token_may_read(&t, "100002", "201", ""));
    cr_expect_not(reports_token_may_read(&t, "100003", "202", "TR2"));
    cr_expect_not(reports_token_may_read(&t, "100003", "", ""));
    cr_expect_not(reports_token_may_read(NULL, "100001", "201", "TR1"));
    reports_token_t none = {0};
    cr_expect_not(reports_token_may_read(&none, "100001", "201", "TR1"));
}

Test(tokens_file, missing_file_named)
{
    reports_tokens_t *t = NULL;
    char err[REPORTS_ERR_MAX];
    cr_expect_eq(reports_tokens_load("/nonexistent/tokens", &t, err), RC_EIO);
    cr_expect(strstr(err, "/nonexistent/tokens"), "%s", err);
    cr_expect_eq(reports_tokens_load("", &t, err), RC_OK);
    cr_expect_eq(reports_tokens_count(t), 0);
    cr_expect_null(reports_tokens_find(t, "x", 1));
    reports_tokens_destroy(&t);
}
