/* test_notify.c - rollcall-notify end to end: real Redis, ingest, rules, the
 * gateway simulator speaking GOV.UK Notify's API, and notify between them.
 * Registers go in through ingest; what parents receive is read back from the
 * simulator. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define SERVICE_ID "26785a09-ab16-4eb0-8407-a37497a57506"
#define API_KEY    "rollcall_test-" SERVICE_ID "-3d844edf-8d35-48ac-975b-e847b4f122b0"
#define SMS_TPL    "f33517ff-2a88-4f6e-b855-c550268ce08a"
#define EMAIL_TPL  "a0b1c2d3-e4f5-4a6b-8c7d-8e9f0a1b2c3d"

static ts_redis_t redis;
static ts_proc_t ingest, rules, notify, sim;
static int http_port, ingest_pub, rules_pub, notify_pub, sim_port, notify_http;
#define CALLBACK_TOKEN "b3c1f0e2d4a5968778695a4b3c2d1e0f"
static char dir[160], tdir[160];

/* ---- the stack ---- */

static void start_sim(void)
{
    char port[16], url_note[64];
    snprintf(port, sizeof port, "%d", sim_port);
    snprintf(url_note, sizeof url_note, "%d", sim_port);
    char callback[96];
    snprintf(callback, sizeof callback, "http://127.0.0.1:%d/v1/receipts/notify", notify_http);
    setenv("ROLLCALL_SIM_NOTIFY_API_KEY", API_KEY, 1);
    setenv("ROLLCALL_SIM_NOTIFY_CALLBACK_TOKEN", CALLBACK_TOKEN, 1);
    char *argv[] = {(char *)ts_binary("sim/rollcall-gateway-sim"),
                    "--port",
                    port,
                    "--notify-callback-url",
                    callback,
                    "--notify-service-id",
                    SERVICE_ID,
                    "--deliver-after",
                    "50ms",
                    NULL};
    ts_proc_spawn(&sim, redis.dir, "sim", argv);
    cr_assert(ts_proc_wait_log(&sim, "\"sim.ready\"", 10000), "the simulator did not start");
}

static const char *quiet_hours = "";        /* none, unless a test wants them */
static const char *merge_siblings = "true"; /* notify's default */

/* start_notify_as starts a notify process for schools ("" = all) with a
 * rate limit, receipts on http, outcomes on pub. */
static void start_notify_as(ts_proc_t *proc, const char *name, const char *schools,
                            const char *rate, int http, int pubp)
{
    char rport[16], sub[64], pub[64], url[64];
    snprintf(rport, sizeof rport, "%d", redis.port);
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", rules_pub);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", pubp);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", sim_port);
    setenv("ROLLCALL_NOTIFY_API_KEY", API_KEY, 1);
    setenv("ROLLCALL_NOTIFY_CALLBACK_TOKEN", CALLBACK_TOKEN, 1);
    char hport[16];
    snprintf(hport, sizeof hport, "%d", http);
    char *argv[] = {(char *)ts_binary("services/rollcall-notify"),
                    "--redis-port",
                    rport,
                    "--rules-endpoints",
                    sub,
                    "--pub-endpoint",
                    pub,
                    "--templates-dir",
                    tdir,
                    "--clock",
                    "replay",
                    "--sms-gateway",
                    "notify",
                    "--email-gateway",
                    "notify",
                    "--notify-url",
                    url,
                    "--http-port",
                    hport,
                    "--quiet-hours",
                    (char *)quiet_hours,
                    "--retry-first",
                    "100ms",
                    "--request-timeout",
                    "1s",
                    "--schools",
                    (char *)schools,
                    "--rate-per-minute",
                    (char *)rate,
                    "--merge-siblings",
                    (char *)merge_siblings,
                    NULL};
    ts_proc_spawn(proc, redis.dir, name, argv);
    cr_assert(ts_proc_wait_log(proc, "\"service.ready\"", 10000), "%s did not start: %s", name,
              proc->log);
}

static void start_notify(void)
{
    start_notify_as(&notify, "notify", "", "3000", notify_http, notify_pub);
}

static void clock_at(const char *iso)
{
    char body[96];
    int n = snprintf(body, sizeof body, "{\"now\":\"%s\"}", iso);
    ts_http_post(http_port, "/v1/clock", "application/json", body, (size_t)n);
}

/* marks posts marks rows (without the header). */
static void marks(const char *rows)
{
    char body[4096];
    int n =
        snprintf(body, sizeof body, "urn,upn,date,session,code,minutes_late,recorded_at\n%s", rows);
    ts_http_post(http_port, "/v1/marks", "text/csv", body, (size_t)n);
}

static void setup(void)
{
    ts_redis_start(&redis, 1);
    http_port = ts_free_port();
    ingest_pub = ts_free_port();
    rules_pub = ts_free_port();
    notify_pub = ts_free_port();
    sim_port = ts_free_port();
    notify_http = ts_free_port();
    ts_start_ingest(&ingest, &redis, http_port, ingest_pub, NULL);
    snprintf(dir, sizeof dir, "%s/demo", redis.dir);
    snprintf(tdir, sizeof tdir, "%s/templates", redis.dir);
    ts_demo_data(dir);
    /* The repo's templates, with GOV.UK Notify ids for the first-day message
     * (a school registers its templates with Notify and writes the ids in). */
    ts_notify_templates(tdir, SMS_TPL, EMAIL_TPL);
    ts_demo_load(http_port, dir);
    start_sim();
    ts_start_rules(&rules, &redis, "rules", ingest_pub, rules_pub, NULL);
    start_notify();
}

static void teardown(void)
{
    ts_proc_t *procs[] = {&notify, &rules, &sim, &ingest};
    for (int i = 0; i < 4; i++)
        if (procs[i]->pid > 0)
            cr_expect_eq(ts_proc_stop(procs[i], SIGTERM, 5000), 0, "%s exited badly",
                         procs[i]->log);
    ts_keep_dir(redis.dir); /* debugging: ROLLCALL_TEST_KEEP keeps the logs */
    ts_redis_stop(&redis);
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 120);

/* ---- reading the simulator ---- */

/* ---- the demo pupils (scripts/demo-data.sh) ---- */

/* 100102 runs 001_attendance_process: the first-day text at 09:30. */
#define URN "100102"
#define DAY "2026-09-02"
/* Pupils with two parents (every fifth demo pupil has one): 1-4, 6-9... */
static const int with_two[] = {1, 2, 3, 4, 6, 7, 8, 9};
static char upns[8][16];

/* pupil_of writes the UPN of the i-th pupil of urn with two parents. */
static void pupil_of(const char *urn, int i, char out[16])
{
    char path[256], prefix[16];
    snprintf(path, sizeof path, "%s/pupils.csv", dir);
    snprintf(prefix, sizeof prefix, "%s,", urn);
    cr_assert(ts_csv_field(path, prefix, with_two[i], 2, out, 16), "no pupil %d of %s", with_two[i],
              urn);
}

/* pupil returns the UPN of the i-th pupil of URN with two parents. */
static const char *pupil(int i)
{
    if (!upns[i][0])
        pupil_of(URN, i, upns[i]);
    return upns[i];
}
#define PUPIL(n) pupil(n)

static void absent(const char *upn, const char *code, const char *at)
{
    char row[160];
    snprintf(row, sizeof row, URN ",%s," DAY ",AM,%s,," DAY "T%s:00+01:00\n", upn, code, at);
    marks(row);
}

/* ---- tests ---- */

Test(notify, both_parents_get_the_first_day_text_once)
{
    char mum[20], dad[20], gran[20];
    ts_demo_mobile(dir, PUPIL(0), "-m", mum);
    ts_demo_mobile(dir, PUPIL(0), "-f", dad);
    ts_demo_mobile(dir, PUPIL(0), "-g", gran);
    clock_at(DAY "T08:00:00+01:00");
    absent(PUPIL(0), "N", "08:55");
    clock_at(DAY "T09:29:00+01:00");
    ts_sleep_ms(1500);
    cr_assert_eq(ts_sim_count(sim_port, "sms", mum), 0, "nothing before 09:30");
    clock_at(DAY "T09:30:00+01:00");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", mum, 1, 15000), 1, "the mother: one text");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", dad, 1, 5000), 1, "the father: one text");
    cr_assert_eq(ts_sim_count(sim_port, "sms", gran), 0,
                 "no text to a contact without parental responsibility");
    clock_at(DAY "T11:00:00+01:00");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", mum, 2, 2000), 1, "not again later that day");
}

Test(notify, a_reason_given_before_half_past_nine_texts_nobody)
{
    char mum[20], dad[20];
    ts_demo_mobile(dir, PUPIL(1), "-m", mum);
    ts_demo_mobile(dir, PUPIL(1), "-f", dad);
    clock_at(DAY "T08:00:00+01:00");
    absent(PUPIL(1), "N", "08:55");
    absent(PUPIL(1), "I", "09:10"); /* the parent rang */
    absent(PUPIL(0), "N", "08:55"); /* a pupil who does get texts, to know sending works */
    clock_at(DAY "T09:30:00+01:00");
    char other[20];
    ts_demo_mobile(dir, PUPIL(0), "-m", other);
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", other, 1, 15000), 1);
    cr_assert_eq(ts_sim_count(sim_port, "sms", mum), 0);
    cr_assert_eq(ts_sim_count(sim_port, "sms", dad), 0);
}

Test(notify, each_gateway_fault_still_delivers_exactly_once)
{
    const char *faults[] = {
        "{\"path\":\"/v2/notifications/sms\",\"kind\":\"status\",\"status\":500,\"count\":1}",
        "{\"path\":\"/v2/notifications/sms\",\"kind\":\"retry_after\",\"retry_after_s\":1,"
        "\"count\":1}",
        "{\"path\":\"/v2/notifications/sms\",\"kind\":\"drop_after_receive\",\"count\":1}",
        "{\"path\":\"/v2/notifications/sms\",\"kind\":\"slow\",\"delay_ms\":2500,\"count\":1}",
    };
    clock_at(DAY "T09:30:00+01:00");
    for (int i = 0; i < 4; i++) {
        char mum[20], dad[20];
        const char *upn = PUPIL(2 + i);
        ts_demo_mobile(dir, upn, "-m", mum);
        ts_demo_mobile(dir, upn, "-f", dad);
        ts_sim_fault(sim_port, faults[i]);
        absent(upn, "N", "09:35");
        int m = ts_sim_wait_count(sim_port, "sms", mum, 1, 20000),
            d = ts_sim_wait_count(sim_port, "sms", dad, 1, 20000);
        cr_assert_eq(m, 1, "fault %d: the mother got %d texts", i, m);
        cr_assert_eq(d, 1, "fault %d: the father got %d texts", i, d);
    }
}

/* siblings_absent gives pupils 0 and 1 a shared mother (pupil 0's, whose
 * mobile goes in mum), marks both absent and moves the clock to 09:30. */
static void siblings_absent(char mum[20])
{
    char body[600];
    ts_demo_mobile(dir, PUPIL(0), "-m", mum);
    int n = snprintf(body, sizeof body,
                     "upn,contact_id,name,relationship,parental_responsibility,mobile,email,"
                     "priority\n%s,%s-m2,Parent A Shared,mother,Y,%s,,1\n",
                     PUPIL(1), PUPIL(1), mum);
    ts_http_post(http_port, "/v1/contacts", "text/csv", body, (size_t)n);
    clock_at(DAY "T08:00:00+01:00");
    absent(PUPIL(0), "N", "08:55");
    absent(PUPIL(1), "N", "08:55");
    clock_at(DAY "T09:30:00+01:00");
}

/* texts_naming counts the simulator's texts to number whose pupil_names
 * names both children (both 1) or one (both 0). */
static int texts_naming(const char *number, int both)
{
    json_t *all = ts_http_get_json(sim_port, "/_sim/messages"), *m;
    size_t i;
    int n = 0;
    json_array_foreach(all, i, m)
    {
        const char *to = json_string_value(json_object_get(m, "to"));
        const char *names = json_string_value(
            json_object_get(json_object_get(m, "personalisation"), "pupil_names"));
        if (to && !strcmp(to, number) && names && (strstr(names, " and ") != NULL) == both)
            n++;
    }
    json_decref(all);
    return n;
}

Test(notify, brothers_and_sisters_absent_together_get_one_text)
{
    char mum[20];
    siblings_absent(mum);
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", mum, 1, 15000), 1,
                 "one text for both children");
    cr_assert_eq(texts_naming(mum, 1), 1, "the text names both children");
}

/* A school that turns merging off: each child's absence is its own text,
 * even to a parent they share. */
Test(notify, with_merge_siblings_off_each_child_gets_its_own_text)
{
    cr_assert_eq(ts_proc_stop(&notify, SIGTERM, 5000), 0);
    merge_siblings = "false";
    start_notify();
    char mum[20];
    siblings_absent(mum);
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", mum, 2, 15000), 2, "one text per child");
    ts_sleep_ms(1000);
    cr_assert_eq(ts_sim_count(sim_port, "sms", mum), 2, "and no more");
    cr_assert_eq(texts_naming(mum, 0), 2, "each text names one child");
    merge_siblings = "true";
}

Test(notify, a_bad_number_is_a_permanent_failure_not_retried)
{
    /* A French mobile: a service without international texting is refused it. */
    char body[600], dad[20];
    ts_demo_mobile(dir, PUPIL(2), "-f", dad);
    int n = snprintf(body, sizeof body,
                     "upn,contact_id,name,relationship,parental_responsibility,mobile,email,"
                     "priority\n%s,%s-m,Parent A,mother,Y,+33 6 12 34 56 78,,1\n",
                     PUPIL(2), PUPIL(2));
    ts_http_post(http_port, "/v1/contacts", "text/csv", body, (size_t)n);
    clock_at(DAY "T09:30:00+01:00");
    absent(PUPIL(2), "N", "09:40");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", dad, 1, 15000), 1,
                 "the other parent still gets it");
    ts_sleep_ms(1500);
    redisContext *c = ts_redis_connect(&redis);
    redisReply *keys = redisCommand(c, "KEYS rn:msg:{" URN "}:*");
    int failed = 0, attempts = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *r = redisCommand(c, "HMGET %s to state attempts error", keys->element[i]->str);
        if (r->element[0]->str && !strcmp(r->element[0]->str, "+33612345678")) {
            failed = !strcmp(r->element[1]->str, "failed");
            attempts = atoi(r->element[2]->str);
            cr_assert(strstr(r->element[3]->str, "400"), "the school sees why: %s",
                      r->element[3]->str);
            cr_assert_null(strstr(r->element[3]->str, "612345678"), "no number in the error");
        }
        freeReplyObject(r);
    }
    freeReplyObject(keys);
    redisFree(c);
    cr_assert(failed, "a 400 is a permanent failure");
    cr_assert_eq(attempts, 1, "and never retried");
}

Test(notify, kill_9_after_the_gateway_took_it_still_sends_once)
{
    /* The gateway takes the request, then answers slowly; notify is killed
     * before it hears back, and restarted. */
    char mum[20], dad[20];
    ts_demo_mobile(dir, PUPIL(3), "-m", mum);
    ts_demo_mobile(dir, PUPIL(3), "-f", dad);
    ts_sim_fault(sim_port,
                 "{\"path\":\"/v2/notifications/sms\",\"kind\":\"slow\",\"delay_ms\":3000,"
                 "\"count\":2}");
    clock_at(DAY "T09:30:00+01:00");
    absent(PUPIL(3), "N", "09:40");
    for (int waited = 0;
         waited < 10000 &&
         ts_sim_count(sim_port, "sms", mum) + ts_sim_count(sim_port, "sms", dad) < 1;
         waited += 50)
        ts_sleep_ms(50);
    cr_assert_eq(ts_proc_stop(&notify, SIGKILL, 2000), 128 + SIGKILL);
    start_notify();
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", mum, 1, 20000), 1, "the mother: once");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", dad, 1, 20000), 1, "the father: once");
}

/* state_of returns the state (and error, when err is not NULL) of the
 * message to `to`, "" when there is none. */
static void state_of(const char *to, char state[16], char err[200])
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *keys = redisCommand(c, "KEYS rn:msg:{" URN "}:*");
    state[0] = '\0';
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *r = redisCommand(c, "HMGET %s to state error", keys->element[i]->str);
        if (r->element[0]->str && !strcmp(r->element[0]->str, to)) {
            snprintf(state, 16, "%s", r->element[1]->str);
            if (err)
                snprintf(err, 200, "%s", r->element[2]->str ? r->element[2]->str : "");
        }
        freeReplyObject(r);
    }
    freeReplyObject(keys);
    redisFree(c);
}

static long receipt(const char *token, const char *json)
{
    ts_http_req_t req = {.body = json, .len = strlen(json)};
    ts_http_resp_t r =
        ts_http_request_bearer(notify_http, "POST", "/v1/receipts/notify", token, &req);
    long status = r.status;
    ts_http_resp_free(&r);
    return status;
}

Test(notify, delivery_receipts_move_messages_on_and_repeats_are_harmless)
{
    /* 07700 900999: the simulator's number whose receipt is a permanent failure. */
    char body[600], dad[20], state[16], err[200];
    ts_demo_mobile(dir, PUPIL(4), "-f", dad);
    int n = snprintf(body, sizeof body,
                     "upn,contact_id,name,relationship,parental_responsibility,mobile,email,"
                     "priority\n%s,%s-m,Parent A,mother,Y,07700 900999,,1\n",
                     PUPIL(4), PUPIL(4));
    ts_http_post(http_port, "/v1/contacts", "text/csv", body, (size_t)n);
    clock_at(DAY "T09:30:00+01:00");
    absent(PUPIL(4), "N", "09:40");
    for (int waited = 0; waited < 15000; waited += 100) {
        state_of(dad, state, NULL);
        if (!strcmp(state, "delivered"))
            break;
        ts_sleep_ms(100);
    }
    cr_assert_str_eq(state, "delivered", "the father's text was delivered");
    for (int waited = 0; waited < 5000; waited += 100) {
        state_of("+447700900999", state, err);
        if (!strcmp(state, "failed"))
            break;
        ts_sleep_ms(100);
    }
    cr_assert_str_eq(state, "failed", "the mother's number could not be reached");
    cr_assert(strstr(err, "permanent-failure"), "the school sees why: %s", err);

    /* A repeated or late receipt changes nothing; a wrong token is refused. */
    redisContext *c = ts_redis_connect(&redis);
    redisReply *before = redisCommand(c, "XLEN rn:outcomes:{" URN "}");
    json_t *all = ts_http_get_json(sim_port, "/_sim/messages");
    const char *ref = NULL, *id = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m)
    {
        const char *to = json_string_value(json_object_get(m, "to"));
        if (to && !strcmp(to, dad)) {
            ref = json_string_value(json_object_get(m, "reference"));
            id = json_string_value(json_object_get(m, "id"));
        }
    }
    cr_assert(ref && id);
    char late[512];
    snprintf(late, sizeof late,
             "{\"id\":\"%s\",\"reference\":\"%s\",\"to\":\"x\",\"status\":\"%s\"}", id, ref,
             "sending");
    cr_assert_eq(receipt(CALLBACK_TOKEN, late), 200);
    snprintf(late, sizeof late,
             "{\"id\":\"%s\",\"reference\":\"%s\",\"to\":\"x\",\"status\":\"%s\"}", id, ref,
             "delivered");
    cr_assert_eq(receipt(CALLBACK_TOKEN, late), 200);
    cr_assert_eq(receipt("not-the-token-not-the-token-0000", late), 401);
    json_decref(all);
    state_of(dad, state, NULL);
    cr_assert_str_eq(state, "delivered");
    redisReply *after = redisCommand(c, "XLEN rn:outcomes:{" URN "}");
    cr_assert_eq(after->integer, before->integer, "no outcome for a repeat");
    freeReplyObject(before);
    freeReplyObject(after);
    redisFree(c);
}

Test(notify, quiet_hours_hold_texts_until_morning_but_not_emails)
{
    cr_assert_eq(ts_proc_stop(&notify, SIGTERM, 5000), 0);
    quiet_hours = "20:00-07:00";
    start_notify();
    char mum[20];
    ts_demo_mobile(dir, PUPIL(5), "-m", mum);
    clock_at(DAY "T20:30:00+01:00");
    absent(PUPIL(5), "N", "20:25"); /* recorded late in the evening */
    ts_sleep_ms(3000);              /* time enough to send, were it not quiet */
    cr_assert_eq(ts_sim_count(sim_port, "sms", mum), 0, "no text at 20:30");
    /* Recoded overnight (O, unauthorised): the held text still names the
     * session it was about. */
    absent(PUPIL(5), "O", "21:10");
    clock_at("2026-09-03T07:05:00+01:00");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", mum, 1, 15000), 1,
                 "sent once the quiet hours end");
    quiet_hours = "";
}

/* seconds_of reads the simulator's "...T13:00:00.123000Z" as seconds of the day. */
static double seconds_of(const char *iso)
{
    int h, m;
    double sec;
    cr_assert_eq(sscanf(strchr(iso, 'T') + 1, "%d:%d:%lfZ", &h, &m, &sec), 3, "%s", iso);
    return h * 3600 + m * 60 + sec;
}

Test(notify, two_processes_share_one_rate_limit)
{
    /* Two notify processes, one school each, one GOV.UK Notify key limited
     * to 600 requests a minute: 10 a second after a burst of 10. */
    cr_assert_eq(ts_proc_stop(&notify, SIGTERM, 5000), 0);
    ts_proc_t second;
    start_notify_as(&notify, "notify-a", "100101", "600", ts_free_port(), ts_free_port());
    start_notify_as(&second, "notify-b", "100102", "600", ts_free_port(), ts_free_port());
    clock_at(DAY "T09:30:00+01:00");
    char rows[4096] = "", upn[16];
    const char *urns[] = {"100101", "100102"};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 6; i++) {
            pupil_of(urns[s], i, upn);
            size_t n = strlen(rows);
            snprintf(rows + n, sizeof rows - n, "%s,%s," DAY ",AM,N,," DAY "T09:35:00+01:00\n",
                     urns[s], upn);
        }
    marks(rows); /* 12 pupils x 2 parents x (text + email) = 48 requests */
    json_t *all = NULL;
    for (int waited = 0; waited < 30000; waited += 200) {
        json_decref(all);
        all = ts_http_get_json(sim_port, "/_sim/messages");
        if (json_array_size(all) >= 48)
            break;
        ts_sleep_ms(200);
    }
    cr_assert_eq(json_array_size(all), 48, "every message, once");
    double first = 1e9, last = 0;
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m)
    {
        double t = seconds_of(json_string_value(json_object_get(m, "received_at")));
        first = t < first ? t : first;
        last = t > last ? t : last;
    }
    json_decref(all);
    /* (48 - 10) / 10 per second: at least 3.8 s between the first and the last. */
    cr_assert_geq(last - first, 3.3, "the limit held across both processes: %.2f s", last - first);
    cr_assert_eq(ts_proc_stop(&second, SIGTERM, 5000), 0);
}

/* Seed 001's Letter A (attendance below the target, after 20 sessions) is
 * rendered for each parent and filed in the school's print queue, with the
 * pupil's name and figures in it. */
Test(notify, a_stage_letter_is_rendered_into_the_schools_print_queue)
{
    static const char *const days[] = {"2026-09-02", "2026-09-03", "2026-09-04", "2026-09-07",
                                       "2026-09-08", "2026-09-09", "2026-09-10", "2026-09-11",
                                       "2026-09-14", "2026-09-15"};
    char rows[3000];
    size_t n = 0;
    const char *upn = PUPIL(6);
    for (int d = 0; d < 10; d++) /* 18 of 20 sessions: 90%, below 001's target */
        for (int s = 0; s < 2; s++)
            n += (size_t)snprintf(rows + n, sizeof rows - n, URN ",%s,%s,%s,%s,,%sT%s:00+01:00\n",
                                  upn, days[d], s ? "PM" : "AM", d == 3 && s ? "O" : "/", days[d],
                                  s ? "13:30" : "08:50");
    n += (size_t)snprintf(rows + n, sizeof rows - n,
                          URN ",%s,2026-09-15,PM,O,,2026-09-15T13:31:00+01:00\n", upn);
    clock_at("2026-09-15T15:59:00+01:00"); /* the fortnight's register, taken */
    marks(rows);
    clock_at("2026-09-15T16:00:00+01:00");
    redisContext *c = ts_redis_connect(&redis);
    redisReply *k = NULL;
    for (int waited = 0; waited < 20000; waited += 200) {
        freeReplyObject(k);
        k = redisCommand(c, "ZRANGE rn:letters:{" URN "} 0 -1 WITHSCORES");
        if (k->elements >= 4)
            break;
        ts_sleep_ms(200);
    }
    cr_assert_eq(k->elements, 4, "Letter A for each of the two parents, filed by date (%zu)",
                 k->elements / 2);
    redisReply *who = redisCommand(c, "HMGET rc:pupil:{" URN "}:%s forename surname", upn);
    char first_parent[128] = "";
    for (size_t i = 0; i < k->elements; i += 2) {
        cr_expect_str_eq(k->element[i + 1]->str, "20260915", "scored by the letter's date");
        redisReply *m =
            redisCommand(c, "HMGET rn:msg:{" URN "}:%s state channel template letter subject name",
                         k->element[i]->str);
        cr_assert_eq(m->element[3]->type, REDIS_REPLY_STRING, "the letter's text is kept");
        cr_expect_str_eq(m->element[0]->str, "sent", "filed for printing");
        cr_expect_str_eq(m->element[1]->str, "letter");
        cr_expect_str_eq(m->element[2]->str, "letter_a");
        cr_expect(strstr(m->element[3]->str, who->element[0]->str), "the pupil is named: %s",
                  m->element[3]->str);
        cr_expect(strstr(m->element[3]->str, "90"), "the attendance figure is in it");
        char dear[160];
        snprintf(dear, sizeof dear, "Dear %s,", m->element[5]->str);
        cr_expect(m->element[5]->str[0] && strstr(m->element[3]->str, dear),
                  "addressed to the parent by name");
        if (i == 0)
            snprintf(first_parent, sizeof first_parent, "%s", m->element[5]->str);
        else
            cr_expect_str_neq(m->element[5]->str, first_parent, "one letter to each parent");
        cr_expect(strstr(m->element[4]->str, who->element[1]->str), "subject: %s",
                  m->element[4]->str);
        freeReplyObject(m);
    }
    freeReplyObject(who);
    freeReplyObject(k);
    redisFree(c);
}
