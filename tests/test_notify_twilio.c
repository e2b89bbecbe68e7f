/* test_notify_twilio.c - rollcall-notify end to end with its texts going
 * through Twilio's Messages API and its email through GOV.UK Notify: real
 * Redis, ingest, rules, the gateway simulator speaking both, and notify
 * between them. test_notify.c covers the same stack with Notify alone. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define SERVICE_ID  "26785a09-ab16-4eb0-8407-a37497a57506"
#define API_KEY     "rollcall_test-" SERVICE_ID "-3d844edf-8d35-48ac-975b-e847b4f122b0"
#define SMS_TPL     "f33517ff-2a88-4f6e-b855-c550268ce08a"
#define EMAIL_TPL   "a0b1c2d3-e4f5-4a6b-8c7d-8e9f0a1b2c3d"
#define ACCOUNT_SID "AC0123456789abcdef0123456789abcdef"
#define AUTH_TOKEN  "0123456789abcdef0123456789abcdef"
#define FROM        "+447700900000"

/* 100102 (Fellside Primary) runs 001_attendance_process: the first-day
 * text at 09:30. */
#define URN    "100102"
#define SCHOOL "Fellside Primary"
#define DAY    "2026-09-02"

static ts_redis_t redis;
static ts_proc_t ingest, rules, notify, sim;
static int http_port, ingest_pub, rules_pub, notify_pub, sim_port, notify_http;
static char dir[160], tdir[160];

/* ---- HTTP ---- */

/* ingest_post posts a body to ingest and expects 200. */
static void ingest_post(const char *path, const char *ctype, const char *body)
{
    ts_http_post(http_port, path, ctype, body, strlen(body));
}

static void clock_at(const char *iso)
{
    char body[96];
    snprintf(body, sizeof body, "{\"now\":\"%s\"}", iso);
    ingest_post("/v1/clock", "application/json", body);
}

static void absent(const char *upn, const char *code, const char *at)
{
    char body[256];
    snprintf(body, sizeof body,
             "urn,upn,date,session,code,minutes_late,recorded_at\n" URN ",%s," DAY ",AM,%s,," DAY
             "T%s:00+01:00\n",
             upn, code, at);
    ingest_post("/v1/marks", "text/csv", body);
}

/* ---- the stack ---- */

/* start_sim starts the simulator; its messages are sent (have a date_sent)
 * deliver_after after Twilio takes them. */
static void start_sim(const char *deliver_after)
{
    char port[16], token[200];
    snprintf(port, sizeof port, "%d", sim_port);
    snprintf(token, sizeof token, "%s/twilio.token", redis.dir);
    FILE *f = fopen(token, "w");
    cr_assert_not_null(f);
    fputs(AUTH_TOKEN, f);
    fclose(f);
    setenv("ROLLCALL_SIM_NOTIFY_API_KEY", API_KEY, 1);
    char *argv[] = {(char *)ts_binary("sim/rollcall-gateway-sim"),
                    "--port",
                    port,
                    "--notify-service-id",
                    SERVICE_ID,
                    "--twilio-account-sid",
                    ACCOUNT_SID,
                    "--twilio-auth-token-file",
                    token,
                    "--deliver-after",
                    (char *)deliver_after,
                    NULL};
    ts_proc_spawn(&sim, redis.dir, "sim", argv);
    cr_assert(ts_proc_wait_log(&sim, "\"sim.ready\"", 10000), "the simulator did not start");
}

static void start_notify(void)
{
    char rport[16], sub[64], pub[64], url[64];
    snprintf(rport, sizeof rport, "%d", redis.port);
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", rules_pub);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", notify_pub);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", sim_port);
    setenv("ROLLCALL_NOTIFY_API_KEY", API_KEY, 1);
    setenv("ROLLCALL_TWILIO_AUTH_TOKEN", AUTH_TOKEN, 1);
    /* Twilio's status callbacks come back to notify (StatusCallback). */
    setenv("ROLLCALL_NOTIFY_CALLBACK_TOKEN", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", 1);
    char hport[16], public_url[64];
    snprintf(hport, sizeof hport, "%d", notify_http);
    snprintf(public_url, sizeof public_url, "http://127.0.0.1:%d", notify_http);
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
                    "twilio",
                    "--twilio-url",
                    url,
                    "--twilio-account-sid",
                    ACCOUNT_SID,
                    "--twilio-from",
                    FROM,
                    "--email-gateway",
                    "notify",
                    "--notify-url",
                    url,
                    "--http-port",
                    hport,
                    "--public-url",
                    public_url,
                    "--quiet-hours",
                    "",
                    "--retry-first",
                    "100ms",
                    "--request-timeout",
                    "1s",
                    NULL};
    ts_proc_spawn(&notify, redis.dir, "notify", argv);
    cr_assert(ts_proc_wait_log(&notify, "\"service.ready\"", 10000), "notify did not start: %s",
              notify.log);
}

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ts_redis_start(&redis, 1);
    http_port = ts_free_port();
    notify_http = ts_free_port();
    ingest_pub = ts_free_port();
    rules_pub = ts_free_port();
    notify_pub = ts_free_port();
    sim_port = ts_free_port();
    ts_start_ingest(&ingest, &redis, http_port, ingest_pub, NULL);
    snprintf(dir, sizeof dir, "%s/demo", redis.dir);
    snprintf(tdir, sizeof tdir, "%s/templates", redis.dir);
    ts_demo_data(dir);
    /* The repo's templates. The email goes through GOV.UK Notify, which
     * needs the template's Notify ids; Twilio takes the text as rendered. */
    ts_notify_templates(tdir, SMS_TPL, EMAIL_TPL);
    ts_demo_load(http_port, dir);
    start_sim("50ms");
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
    curl_global_cleanup();
}

TestSuite(notify_twilio, .init = setup, .fini = teardown, .timeout = 120);

/* ---- what the simulator took ---- */

/* msg_field copies field of notify's message (rn:msg) on channel to `to`
 * into out; 0 when there is no such message. */
static int msg_field(const char *channel, const char *to, const char *field, char *out, size_t cap)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *keys = redisCommand(c, "KEYS rn:msg:{" URN "}:*");
    int found = 0;
    for (size_t i = 0; !found && keys && i < keys->elements; i++) {
        redisReply *r = redisCommand(c, "HMGET %s channel to %s", keys->element[i]->str, field);
        if (r && r->elements == 3 && r->element[0]->str && r->element[1]->str &&
            !strcmp(r->element[0]->str, channel) && !strcmp(r->element[1]->str, to)) {
            snprintf(out, cap, "%s", r->element[2]->str ? r->element[2]->str : "");
            found = 1;
        }
        freeReplyObject(r);
    }
    freeReplyObject(keys);
    redisFree(c);
    return found;
}

/* wait_state waits until notify's SMS to `to` has left "pending" and
 * "sending", and returns the state it reached ("" when it never did). */
static const char *wait_state(const char *to, char out[32], int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (msg_field("sms", to, "state", out, 32) && strcmp(out, "pending") != 0 &&
            strcmp(out, "sending") != 0)
            return out;
        ts_sleep_ms(50);
    }
    out[0] = '\0';
    return out;
}

/* ---- the demo pupils (scripts/demo-data.sh) ---- */

/* Pupils with two parents (every fifth demo pupil has one): 1-4, 6-9... */
static const int with_two[] = {1, 2, 3, 4, 6, 7, 8, 9};

/* pupil_col writes the UPN (col 2) or forename (col 3) of the i-th pupil of
 * URN with two parents. */
static const char *pupil_col(int i, int col, char out[32])
{
    char path[256];
    snprintf(path, sizeof path, "%s/pupils.csv", dir);
    cr_assert(ts_csv_field(path, URN ",", with_two[i], col, out, 32), "no pupil %d", with_two[i]);
    return out;
}

/* ---- tests ---- */

Test(notify_twilio, both_parents_get_the_first_day_text_once_through_twilio)
{
    char upn[32], forename[32], mum[20], dad[20], gran[20], mum_email[128], path[256];
    pupil_col(0, 2, upn);
    pupil_col(0, 3, forename);
    ts_demo_mobile(dir, upn, "-m", mum);
    ts_demo_mobile(dir, upn, "-f", dad);
    ts_demo_mobile(dir, upn, "-g", gran);
    snprintf(path, sizeof path, "%s/contacts.csv", dir);
    char prefix[80];
    snprintf(prefix, sizeof prefix, "%s,%s-m,", upn, upn);
    cr_assert(ts_csv_field(path, prefix, 1, 7, mum_email, sizeof mum_email) && mum_email[0]);

    clock_at(DAY "T08:00:00+01:00");
    absent(upn, "N", "08:55");
    clock_at(DAY "T09:29:00+01:00");
    ts_sleep_ms(1500);
    cr_assert_eq(ts_sim_count(sim_port, "sms", mum), 0, "nothing before 09:30");
    clock_at(DAY "T09:30:00+01:00");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", mum, 1, 15000), 1, "the mother: one text");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", dad, 1, 5000), 1, "the father: one text");
    cr_assert_eq(ts_sim_count(sim_port, "sms", gran), 0,
                 "no text to a contact without parental responsibility");

    /* The text went through Twilio, rendered by notify: it names the pupil. */
    int n;
    json_t *m = ts_sim_message(sim_port, "sms", mum, 0, &n);
    cr_assert_not_null(m);
    const char *body = json_string_value(json_object_get(m, "body"));
    cr_expect_str_eq(json_string_value(json_object_get(m, "gateway")), "twilio");
    cr_expect_str_eq(json_string_value(json_object_get(m, "from")), FROM);
    cr_assert_not_null(body);
    cr_expect(strstr(body, forename), "the text names %s: %s", forename, body);
    cr_expect(strstr(body, SCHOOL), "and the school: %s", body);
    cr_expect(strstr(body, "morning"), "and the session: %s", body);
    cr_expect_null(strstr(body, "(("), "every merge field filled: %s", body);
    /* notify keeps Twilio's id for the message (its receipts name it). */
    char ref[64], gateway[16];
    cr_assert(msg_field("sms", mum, "ref", ref, sizeof ref));
    cr_expect_str_eq(ref, json_string_value(json_object_get(m, "id")));
    cr_assert(msg_field("sms", mum, "gateway", gateway, sizeof gateway));
    cr_expect_str_eq(gateway, "twilio");
    json_decref(m);
    /* Twilio's status callback reaches notify: the text is delivered. */
    char state[16] = "";
    for (int waited = 0; waited < 10000 && strcmp(state, "delivered") != 0; waited += 100) {
        msg_field("sms", mum, "state", state, sizeof state);
        ts_sleep_ms(100);
    }
    cr_expect_str_eq(state, "delivered", "Twilio's receipt moved the text on");

    /* The email still goes through GOV.UK Notify. */
    cr_assert_eq(ts_sim_wait_count(sim_port, "email", mum_email, 1, 5000), 1,
                 "the mother: one email");
    m = ts_sim_message(sim_port, "email", mum_email, 0, &n);
    cr_expect_str_eq(json_string_value(json_object_get(m, "gateway")), "notify");
    cr_expect_str_eq(json_string_value(json_object_get(m, "template_id")), EMAIL_TPL);
    json_decref(m);

    clock_at(DAY "T11:00:00+01:00");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", mum, 2, 2000), 1, "not again later that day");
}

Test(notify_twilio, a_dropped_connection_is_reconciled_through_the_message_list)
{
    /* Twilio takes the first text and the connection drops before its
     * answer: notify cannot know, lists the number's messages, finds the
     * text and does not send it again. */
    char upn[32], mum[20], dad[20], state[32];
    /* Receipts come late here, so that the lookup, not a receipt, settles it. */
    cr_assert_eq(ts_proc_stop(&sim, SIGTERM, 5000), 0);
    start_sim("30s");
    pupil_col(2, 2, upn);
    ts_demo_mobile(dir, upn, "-m", mum);
    ts_demo_mobile(dir, upn, "-f", dad);
    ts_sim_fault(sim_port,
                 "{\"path\":\"/2010-04-01/\",\"method\":\"POST\",\"kind\":\"drop_after_receive\","
                 "\"count\":1}");
    clock_at(DAY "T09:30:00+01:00");
    absent(upn, "N", "09:35");
    cr_assert(ts_proc_wait_log(&notify, "\"notify.reconcile\"", 20000),
              "notify never reconciled the dropped send: %s", notify.log);
    cr_assert(ts_proc_wait_log(&sim,
                               "\"method\":\"GET\",\"route\":\"/2010-04-01/Accounts/{AccountSid}/"
                               "Messages.json\",\"gateway\":\"twilio\",\"status\":200",
                               5000),
              "the reconciliation lists Twilio's messages: %s", sim.log);
    const char *to[] = {mum, dad};
    for (int i = 0; i < 2; i++) {
        cr_assert_str_eq(wait_state(to[i], state, 10000), "sent", "%s: %s", to[i], state);
        char attempts[16], ref[64];
        cr_assert(msg_field("sms", to[i], "attempts", attempts, sizeof attempts));
        cr_expect_str_eq(attempts, "1", "sent once, never again");
        int n;
        json_t *m = ts_sim_message(sim_port, "sms", to[i], 0, &n);
        cr_assert_not_null(m);
        cr_assert(msg_field("sms", to[i], "ref", ref, sizeof ref));
        cr_expect_str_eq(ref, json_string_value(json_object_get(m, "id")),
                         "notify knows Twilio's id, found or answered");
        json_decref(m);
    }
    ts_sleep_ms(1500); /* a resend would come at once */
    cr_expect_eq(ts_sim_count(sim_port, "sms", mum), 1, "the mother: one text");
    cr_expect_eq(ts_sim_count(sim_port, "sms", dad), 1, "the father: one text");
}

Test(notify_twilio, a_number_twilio_refuses_is_a_permanent_failure)
{
    /* +15005550001 is one of Twilio's magic numbers: "This phone number is
     * invalid", 400 with code 21211. Ingest takes it as an E.164 number. */
    char upn[32], dad[20], body[600], state[32], error[256], attempts[16], http_status[16];
    const char *bad = "+15005550001";
    pupil_col(3, 2, upn);
    ts_demo_mobile(dir, upn, "-f", dad);
    snprintf(body, sizeof body,
             "upn,contact_id,name,relationship,parental_responsibility,mobile,email,"
             "priority\n%s,%s-m,Parent A,mother,Y,%s,,1\n",
             upn, upn, bad);
    ingest_post("/v1/contacts", "text/csv", body);
    clock_at(DAY "T09:30:00+01:00");
    absent(upn, "N", "09:40");
    cr_assert_eq(ts_sim_wait_count(sim_port, "sms", dad, 1, 15000), 1,
                 "the other parent still gets it");
    cr_assert_str_eq(wait_state(bad, state, 10000), "failed", "a 400 is a permanent failure");
    cr_assert(msg_field("sms", bad, "error", error, sizeof error));
    cr_expect(strstr(error, "21211"), "the school sees Twilio's code: %s", error);
    cr_expect_null(strstr(error, "5005550001"), "no number in the error: %s", error);
    cr_assert(msg_field("sms", bad, "http", http_status, sizeof http_status));
    cr_expect_str_eq(http_status, "400");
    ts_sleep_ms(1500);
    cr_assert(msg_field("sms", bad, "attempts", attempts, sizeof attempts));
    cr_expect_str_eq(attempts, "1", "and never retried");
    cr_expect_eq(ts_sim_count(sim_port, "sms", bad), 0, "Twilio kept nothing for it");
}

/* A Twilio message has no date_sent until a carrier takes it (queued or
 * accepted until then; on a busy sender, minutes). notify's lookup after an
 * unknown send must still find it, or the text goes twice: it lists the
 * number's messages without a date filter (gateway_lookup_request). */
Test(notify_twilio, a_text_twilio_still_queues_is_not_sent_twice)
{
    char upn[32], mum[20], dad[20];
    cr_assert_eq(ts_proc_stop(&sim, SIGTERM, 5000), 0);
    start_sim("5s"); /* the texts stay queued past notify's reconciliation */
    pupil_col(4, 2, upn);
    ts_demo_mobile(dir, upn, "-m", mum);
    ts_demo_mobile(dir, upn, "-f", dad);
    ts_sim_fault(sim_port,
                 "{\"path\":\"/2010-04-01/\",\"method\":\"POST\",\"kind\":\"drop_after_receive\","
                 "\"count\":1}");
    clock_at(DAY "T09:30:00+01:00");
    absent(upn, "N", "09:35");
    cr_assert(ts_proc_wait_log(&notify, "\"notify.reconcile\"", 20000));
    ts_sleep_ms(3000);
    cr_expect_eq(ts_sim_count(sim_port, "sms", mum), 1, "the mother: one text");
    cr_expect_eq(ts_sim_count(sim_port, "sms", dad), 1, "the father: one text");
}
