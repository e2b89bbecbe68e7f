/* test_gateway_sim.c - rollcall-gateway-sim: its text rules and fault queue
 * as units, then the real binary over HTTP with libcurl: Notify and Twilio
 * calls, auth, validation, every fault kind, and delivery receipts caught by
 * a libmicrohttpd listener inside the test. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <jwt.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "rollcall/log.h"
#include "sim_api.h"
#include "sim_auth.h"
#include "sim_faults.h"
#include "sim_text.h"
#include "testsupport.h"

#define SERVICE_ID  "26785a09-ab16-4eb0-8407-a37497a57506"
#define SECRET      "3d844edf-8d35-48ac-975b-e847b4f122b0"
#define API_KEY     "rollcall_test-" SERVICE_ID "-" SECRET
#define ACCOUNT_SID "AC0123456789abcdef0123456789abcdef"
#define AUTH_TOKEN  "0123456789abcdef0123456789abcdef"
#define CB_TOKEN    "callback-token-42"
#define TEMPLATE    "f33517ff-2a88-4f6e-b855-c550268ce08a"

/* ---- units ---------------------------------------------------------------- */

Test(sim_text, uk_mobiles_as_notify_reads_them)
{
    char out[SIM_PHONE_MAX];
    cr_expect_null(sim_uk_mobile("07700 900123", out));
    cr_expect_str_eq(out, "+447700900123");
    cr_expect_null(sim_uk_mobile("+44 (0)7700-900123", out));
    cr_expect_str_eq(out, "+447700900123");
    cr_expect_null(sim_uk_mobile("00447700900123", out));
    cr_expect_str_eq(sim_uk_mobile("020 7946 0000", out), "Not a UK mobile number");
    cr_expect_str_eq(out, "");
    cr_expect_str_eq(sim_uk_mobile("+1 555 123 4567", out), "Not a UK mobile number");
    cr_expect_str_eq(sim_uk_mobile("07700 9001234", out), "Too many digits");
    cr_expect_str_eq(sim_uk_mobile("07700 90012", out), "Not enough digits");
    cr_expect_str_eq(sim_uk_mobile("07700 9OO123", out),
                     "Mobile numbers can only include: 0 1 2 3 4 5 6 7 8 9 ( ) + -");
}

Test(sim_text, emails_numbers_and_ids)
{
    cr_expect(sim_email_valid("parent@example.org"));
    cr_expect(sim_email_valid("a.b+c@mail.example.co.uk"));
    cr_expect_not(sim_email_valid("parent@localhost"));
    cr_expect_not(sim_email_valid("parent@@example.org"));
    cr_expect_not(sim_email_valid("pa rent@example.org"));
    cr_expect_not(sim_email_valid(".parent@example.org"));
    cr_expect_not(sim_email_valid("parent@-example.org"));
    cr_expect(sim_e164_valid("+447700900123"));
    cr_expect_not(sim_e164_valid("07700900123"));
    cr_expect_not(sim_e164_valid("+0123456789"));
    cr_expect(sim_uuid_valid(TEMPLATE));
    cr_expect_not(sim_uuid_valid("f33517ff2a884f6eb855c550268ce08a"));
    cr_expect(sim_sid_valid(ACCOUNT_SID, "AC"));
    cr_expect_not(sim_sid_valid(ACCOUNT_SID, "SM"));
    char id[SIM_UUID_LEN + 1], sid[SIM_SID_LEN + 1];
    sim_uuid_new(id);
    cr_expect(sim_uuid_valid(id) && id[14] == '4', "%s", id);
    sim_sid_new("SM", sid);
    cr_expect(sim_sid_valid(sid, "SM"), "%s", sid);
    cr_expect_eq(sim_sms_segments("hello"), 1);
    char long_ascii[400];
    memset(long_ascii, 'x', 161);
    long_ascii[161] = '\0';
    cr_expect_eq(sim_sms_segments(long_ascii), 2);
    cr_expect_eq(sim_sms_segments("caf\xc3\xa9"), 1);
}

Test(sim_text, reserved_recipients_fail)
{
    cr_expect_eq(sim_outcome_for("07700 900999"), SIM_OUTCOME_PERMANENT);
    cr_expect_eq(sim_outcome_for("+447700900999"), SIM_OUTCOME_PERMANENT);
    cr_expect_eq(sim_outcome_for("07700900998"), SIM_OUTCOME_TEMPORARY);
    cr_expect_eq(sim_outcome_for("07700900997"), SIM_OUTCOME_TECHNICAL);
    cr_expect_eq(sim_outcome_for("07700900996"), SIM_OUTCOME_SILENT);
    cr_expect_eq(sim_outcome_for("Perm-Fail@Simulator.Notify"), SIM_OUTCOME_PERMANENT);
    cr_expect_eq(sim_outcome_for("07700 900123"), SIM_OUTCOME_DELIVERED);
    cr_expect_eq(sim_outcome_for("+15551234567"), SIM_OUTCOME_DELIVERED);
    int code;
    cr_expect_str_eq(sim_outcome_twilio_status(SIM_OUTCOME_PERMANENT, &code), "undelivered");
    cr_expect_eq(code, 30005);
    cr_expect_str_eq(sim_outcome_notify_status(SIM_OUTCOME_TECHNICAL), "technical-failure");
}

Test(sim_text, twilio_date_sent_values)
{
    int32_t day = -1;
    cr_expect_eq(sim_twilio_day("2026-09-02", &day), 0);
    cr_expect_eq(day, 20698, "days since 1970-01-01");
    cr_expect_eq(sim_twilio_day("2026-09-02T00:30:00+01:00", &day), 0);
    cr_expect_eq(day, 20697, "a date-time counts by its GMT date");
    cr_expect_eq(sim_twilio_day("2026-09-02T23:30:00-01:00", &day), 0);
    cr_expect_eq(day, 20699);
    cr_expect_eq(sim_twilio_day("2026-09-02T10:00:00Z", &day), 0);
    cr_expect_eq(day, 20698);
    cr_expect_eq(sim_twilio_day("2026-09-02T10:00:00", &day), 0);
    cr_expect_eq(day, 20698, "no offset: the date as written");
    const char *bad[] = {">=2026-09-02",
                         "2026-9-2",
                         "2026-09-02 10:00:00",
                         "2026-02-30",
                         "2026-09-02T1",
                         "2026-09-02Tnoon",
                         "",
                         "yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        day = -1;
        cr_expect_eq(sim_twilio_day(bad[i], &day), -1, "%s", bad[i]);
        cr_expect_eq(day, -1, "%s leaves day alone", bad[i]);
    }
    cr_expect_eq(sim_gmt_day(INT64_C(1788307200000)), 20698, "2026-09-02T00:00:00Z");
    cr_expect_eq(sim_gmt_day(INT64_C(1788307200000) - 1), 20697);
    cr_expect_eq(sim_gmt_day(INT64_C(1788307200000) + 86399999), 20698);
}

/* ---- Twilio's message list, through sim_handle with no sockets ----------- */

/* jstr returns the string at a dotted path ("content.body") of j, or NULL. */
static const char *jstr(const json_t *j, const char *path)
{
    char key[64];
    const json_t *v = j;
    while (v && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        v = json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    return json_string_value(v);
}

#define BASIC_AUTH                                                                                 \
    "Basic "                                                                                       \
    "QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjowMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg=="
#define SEP_01_0800 INT64_C(1788249600000) /* 2026-09-01T08:00:00Z */
#define SEP_02_0800 INT64_C(1788336000000)
#define MUM         "+447700900123"
#define DAD         "+447700900456"
#define MESSAGES    "/2010-04-01/Accounts/" ACCOUNT_SID "/Messages.json"

static sim_config_t U_cfg;
static sim_store_t *U_store;
static sim_ctx_t U_ctx;
static char U_sids[4][SIM_SID_LEN + 1];

/* call hands one request to sim_handle; query is "k=v&k2=v2" already
 * decoded (no '&' or '=' inside values). Returns the answer as JSON. */
static json_t *call(const char *method, const char *path, const char *query, const char *auth,
                    const char *body, int64_t now_ms, int *status)
{
    sim_param_t q[8];
    size_t nq = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", query ? query : "");
    for (char *save = NULL, *kv = strtok_r(buf, "&", &save); kv && nq < 8;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        cr_assert_not_null(eq, "%s", kv);
        *eq = '\0';
        q[nq++] = (sim_param_t){kv, eq + 1};
    }
    sim_request_t req = {.method = method,
                         .path = path,
                         .query = q,
                         .nquery = nq,
                         .authorization = auth,
                         .body = body ? body : "",
                         .body_len = body ? strlen(body) : 0,
                         .now_ms = now_ms};
    sim_response_t out;
    sim_handle(&U_ctx, &req, NULL, &out);
    cr_assert_not_null(out.body);
    json_t *j = json_loads(out.body, 0, NULL);
    cr_assert_not_null(j, "%s", out.body);
    *status = out.status;
    free(out.body);
    return j;
}

/* list GETs the message list with query and returns it (asserting 200). */
static json_t *list(const char *query)
{
    int status;
    json_t *j = call("GET", MESSAGES, query, BASIC_AUTH, NULL, SEP_02_0800, &status);
    cr_assert_eq(status, 200, "%s", query);
    return j;
}

/* sids_of writes the sids of a list's messages, space-separated, as
 * indexes into U_sids ("2 1 0"). */
static const char *sids_of(const json_t *page, char *out, size_t cap)
{
    size_t i, n = 0;
    json_t *m;
    out[0] = '\0';
    json_array_foreach(json_object_get(page, "messages"), i, m)
    {
        const char *sid = json_string_value(json_object_get(m, "sid"));
        for (int k = 0; k < 4; k++)
            if (sid && !strcmp(sid, U_sids[k]))
                n += (size_t)snprintf(out + n, cap - n, "%s%d", n ? " " : "", k);
    }
    return out;
}

/* Four messages: 0 to mum sent 1 Sep, 1 to dad sent 2 Sep, 2 to mum from
 * another sender sent 2 Sep, 3 to mum still queued (no date_sent). */
static void unit_setup(void)
{
    log_set_level(LOG_LEVEL_WARN); /* sim.accepted lines would only be noise here */
    memset(&U_cfg, 0, sizeof U_cfg);
    snprintf(U_cfg.twilio_account_sid, sizeof U_cfg.twilio_account_sid, ACCOUNT_SID);
    snprintf(U_cfg.twilio_auth_token, sizeof U_cfg.twilio_auth_token, AUTH_TOKEN);
    U_store = sim_store_new("");
    cr_assert_not_null(U_store);
    U_ctx = (sim_ctx_t){.cfg = &U_cfg, .store = U_store};
    const char *forms[] = {"To=%2B447700900123&From=%2B447700900000&Body=first",
                           "To=%2B447700900456&From=%2B447700900000&Body=second",
                           "To=%2B447700900123&From=Rollcall&Body=third",
                           "To=%2B447700900123&From=%2B447700900000&Body=fourth"};
    const int64_t sent[] = {SEP_01_0800, SEP_02_0800, SEP_02_0800 + 3600000, 0};
    for (int i = 0; i < 4; i++) {
        int status;
        json_t *j = call("POST", MESSAGES, NULL, BASIC_AUTH, forms[i],
                         (sent[i] ? sent[i] : SEP_02_0800) - 1000, &status);
        cr_assert_eq(status, 201);
        snprintf(U_sids[i], sizeof U_sids[i], "%s", json_string_value(json_object_get(j, "sid")));
        json_decref(j);
        if (!sent[i])
            continue;
        sim_store_lock(U_store);
        sim_msg_t *m = sim_store_find(U_store, SIM_GW_TWILIO, U_sids[i]);
        cr_assert_not_null(m);
        sim_store_set_status(U_store, m, "delivered", 0, 1, 1, sent[i]);
        sim_store_unlock(U_store);
    }
}

static void unit_teardown(void)
{
    sim_store_destroy(&U_store);
}

TestSuite(sim_twilio_list, .init = unit_setup, .fini = unit_teardown);

Test(sim_twilio_list, newest_first_in_twilios_page_shape)
{
    char got[32];
    json_t *p = list(NULL);
    cr_expect_str_eq(sids_of(p, got, sizeof got), "3 2 1 0");
    cr_expect_eq(json_integer_value(json_object_get(p, "page")), 0);
    cr_expect_eq(json_integer_value(json_object_get(p, "page_size")), 50);
    cr_expect_eq(json_integer_value(json_object_get(p, "start")), 0);
    cr_expect_eq(json_integer_value(json_object_get(p, "end")), 3);
    cr_expect(json_is_null(json_object_get(p, "next_page_uri")));
    cr_expect(json_is_null(json_object_get(p, "previous_page_uri")));
    cr_expect_str_eq(jstr(p, "uri"), MESSAGES "?PageSize=50&Page=0");
    cr_expect_str_eq(jstr(p, "first_page_uri"), MESSAGES "?PageSize=50&Page=0");
    cr_expect_null(json_object_get(p, "account_sid"), "not a field of the page");
    json_t *m = json_array_get(json_object_get(p, "messages"), 3);
    cr_expect_str_eq(jstr(m, "body"), "first");
    cr_expect_str_eq(jstr(m, "to"), MUM);
    cr_expect_str_eq(jstr(m, "date_sent"), "Tue, 01 Sep 2026 08:00:00 +0000");
    cr_expect_str_eq(jstr(m, "status"), "delivered");
    m = json_array_get(json_object_get(p, "messages"), 0);
    cr_expect(json_is_null(json_object_get(m, "date_sent")), "the queued one was not sent yet");
    json_decref(p);
}

Test(sim_twilio_list, filters_by_to_and_from)
{
    char got[32];
    json_t *p = list("To=" MUM);
    cr_expect_str_eq(sids_of(p, got, sizeof got), "3 2 0");
    cr_expect_str_eq(jstr(p, "uri"), MESSAGES "?To=%2B447700900123&PageSize=50&Page=0");
    json_decref(p);
    p = list("To=" MUM "&From=Rollcall");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "2");
    json_decref(p);
    p = list("To=" DAD);
    cr_expect_str_eq(sids_of(p, got, sizeof got), "1");
    json_decref(p);
    p = list("To=+447700900999");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "");
    cr_expect_eq(json_integer_value(json_object_get(p, "end")), 0);
    json_decref(p);
}

Test(sim_twilio_list, date_sent_filters_compare_gmt_dates)
{
    char got[32];
    json_t *p = list("DateSent=2026-09-02");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "2 1");
    json_decref(p);
    p = list("DateSent>=2026-09-02");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "2 1", "on or after, the queued one left out");
    cr_expect_str_eq(jstr(p, "uri"), MESSAGES "?DateSent%3E=2026-09-02&PageSize=50&Page=0");
    json_decref(p);
    p = list("DateSent<=2026-09-01");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "0", "on or before");
    json_decref(p);
    p = list("DateSent<=2026-09-02&DateSent>=2026-09-02");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "2 1");
    json_decref(p);
    p = list("DateSent>=2026-09-03");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "");
    json_decref(p);
    /* As rollcall-notify reconciles: the number, sent since the attempt's day. */
    p = list("To=" MUM "&DateSent>=2026-09-01");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "2 0");
    cr_expect_str_eq(jstr(p, "uri"),
                     MESSAGES "?To=%2B447700900123&DateSent%3E=2026-09-01&PageSize=50&Page=0");
    json_decref(p);
    p = list("DateSent>=2026-09-02T00:30:00+01:00");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "2 1 0", "that is 1 September in GMT");
    json_decref(p);
}

Test(sim_twilio_list, pages_follow_page_and_page_size)
{
    char got[32];
    json_t *p = list("PageSize=3");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "3 2 1");
    cr_expect_str_eq(jstr(p, "next_page_uri"), MESSAGES "?PageSize=3&Page=1");
    cr_expect(json_is_null(json_object_get(p, "previous_page_uri")));
    json_decref(p);
    p = list("PageSize=3&Page=1");
    cr_expect_str_eq(sids_of(p, got, sizeof got), "0");
    cr_expect(json_is_null(json_object_get(p, "next_page_uri")));
    cr_expect_str_eq(jstr(p, "previous_page_uri"), MESSAGES "?PageSize=3&Page=0");
    cr_expect_str_eq(jstr(p, "first_page_uri"), MESSAGES "?PageSize=3&Page=0");
    cr_expect_eq(json_integer_value(json_object_get(p, "start")), 3);
    cr_expect_eq(json_integer_value(json_object_get(p, "end")), 3);
    json_decref(p);
    p = list("PageSize=4");
    cr_expect(json_is_null(json_object_get(p, "next_page_uri")), "exactly one full page");
    json_decref(p);
}

Test(sim_twilio_list, refuses_bad_values_and_bad_auth)
{
    const char *bad[] = {
        "DateSent>=>=2026-09-02", "DateSent=2026-13-01", "DateSent<=soon", "PageSize=0",
        "PageSize=1001",          "PageSize=ten",        "Page=-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status;
        json_t *j = call("GET", MESSAGES, bad[i], BASIC_AUTH, NULL, SEP_02_0800, &status);
        cr_expect_eq(status, 400, "%s", bad[i]);
        cr_expect_eq(json_integer_value(json_object_get(j, "code")), 20001, "%s", bad[i]);
        json_decref(j);
    }
    int status;
    json_t *j = call("GET", MESSAGES, "To=" MUM, NULL, NULL, SEP_02_0800, &status);
    cr_expect_eq(status, 401);
    cr_expect_eq(json_integer_value(json_object_get(j, "code")), 20003);
    json_decref(j);
    j = call("GET", "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json", NULL,
             BASIC_AUTH, NULL, SEP_02_0800, &status);
    cr_expect_eq(status, 404, "another account's list");
    json_decref(j);
    j = call("DELETE", MESSAGES, NULL, BASIC_AUTH, NULL, SEP_02_0800, &status);
    cr_expect_eq(status, 405);
    json_decref(j);
}

Test(sim_auth, twilio_signature_matches_twilios_own)
{
    /* The example of Twilio's security docs, checked against twilio-node's
     * getExpectedTwilioSignature. */
    sim_param_t p[] = {{"To", "+18005551212"},
                       {"CallSid", "CA1234567890ABCDE"},
                       {"Digits", "1234"},
                       {"From", "+12349013030"},
                       {"Caller", "+12349013030"}};
    char sig[SIM_TWILIO_SIG_MAX];
    cr_assert_eq(
        sim_twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", p, 5, sig), 0);
    cr_expect_str_eq(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

Test(sim_faults, parse_defaults_and_errors)
{
    char err[200];
    sim_fault_t f;
    json_t *j = json_pack("{s:s}", "kind", "retry_after");
    cr_assert_eq(sim_fault_parse(j, &f, err, sizeof err), RC_OK);
    cr_expect_eq(f.status, 429);
    cr_expect_eq(f.retry_after_s, 1);
    cr_expect_eq(f.count, 1);
    cr_expect_str_eq(f.path, "");
    json_decref(j);
    j = json_pack("{s:s}", "kind", "explode");
    cr_expect_eq(sim_fault_parse(j, &f, err, sizeof err), RC_EINVAL);
    cr_expect(strstr(err, "kind must be one of"), "%s", err);
    json_decref(j);
    j = json_pack("{s:s, s:i}", "kind", "status", "status", 99);
    cr_expect_eq(sim_fault_parse(j, &f, err, sizeof err), RC_EINVAL);
    cr_expect(strstr(err, "status"), "%s", err);
    json_decref(j);
}

Test(sim_faults, taken_in_order_by_prefix_and_count)
{
    sim_faults_t *q = sim_faults_new();
    sim_fault_t a = {.kind = SIM_FAULT_STATUS, .status = 500, .count = 2}, b = a, got;
    snprintf(a.path, sizeof a.path, "/v2/notifications/sms");
    snprintf(b.path, sizeof b.path, "%s", "");
    b.status = 503;
    cr_assert_eq(sim_faults_push(q, &a), RC_OK);
    cr_assert_eq(sim_faults_push(q, &b), RC_OK);
    cr_expect_not(sim_faults_take(q, "GET", "/_sim/messages", &got), "/_sim/ never faults");
    cr_assert(sim_faults_take(q, "POST", "/v2/notifications/email", &got));
    cr_expect_eq(got.status, 503, "the email path skips the sms fault");
    cr_assert(sim_faults_take(q, "POST", "/v2/notifications/sms", &got));
    cr_expect_eq(got.status, 500);
    cr_assert(sim_faults_take(q, "POST", "/v2/notifications/sms", &got));
    cr_expect_eq(got.status, 500);
    cr_assert(sim_faults_take(q, "POST", "/v2/notifications/sms", &got));
    cr_expect_eq(got.status, 503);
    cr_expect_not(sim_faults_take(q, "POST", "/v2/notifications/sms", &got));
    cr_expect_eq(sim_faults_consumed(q), 4);
    sim_faults_destroy(&q);
    sim_faults_destroy(&q);
    cr_expect_null(q);
}

/* ---- the binary ----------------------------------------------------------- */

/* One callback the sim POSTed to us. */
typedef struct {
    char path[64];
    char authorization[128];
    char content_type[96];
    char signature[64];
    char *body;
} callback_t;

typedef struct {
    char dir[64];
    int port;
    ts_proc_t sim;
    struct MHD_Daemon *listener;
    int cb_port;
    pthread_mutex_t lock;
    callback_t cbs[64];
    int ncbs;
    int cb_status; /* what the listener answers */
} env_t;

static env_t E;

typedef struct {
    char *body;
    size_t len;
} upload_t;

static enum MHD_Result on_callback(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    upload_t *u = *con_cls;
    (void)cls;
    (void)method;
    (void)version;
    if (!u) {
        *con_cls = calloc(1, sizeof(upload_t));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size) {
        char *b = realloc(u->body, u->len + *upload_data_size + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + u->len, upload_data, *upload_data_size);
        u->body = b;
        u->len += *upload_data_size;
        u->body[u->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Twilio-Signature");
    pthread_mutex_lock(&E.lock);
    if (E.ncbs < (int)(sizeof E.cbs / sizeof E.cbs[0])) {
        callback_t *cb = &E.cbs[E.ncbs++];
        snprintf(cb->path, sizeof cb->path, "%s", url);
        snprintf(cb->authorization, sizeof cb->authorization, "%s", auth ? auth : "");
        snprintf(cb->content_type, sizeof cb->content_type, "%s", ct ? ct : "");
        snprintf(cb->signature, sizeof cb->signature, "%s", sig ? sig : "");
        cb->body = u->body ? u->body : strdup("");
        u->body = NULL;
    }
    int status = E.cb_status;
    pthread_mutex_unlock(&E.lock);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_callback_done(void *cls, struct MHD_Connection *c, void **con_cls,
                             enum MHD_RequestTerminationCode toe)
{
    upload_t *u = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (u) {
        free(u->body);
        free(u);
    }
    *con_cls = NULL;
}

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", E.dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    char port[16], key[128], tok[128], cbtok[128], cburl[96], record[128];

    memset(&E, 0, sizeof E);
    pthread_mutex_init(&E.lock, NULL);
    E.cb_status = 204;
    snprintf(E.dir, sizeof E.dir, "/tmp/rollcall-sim-XXXXXX");
    cr_assert_not_null(mkdtemp(E.dir));
    write_file("key", API_KEY "\n");
    write_file("token", AUTH_TOKEN);
    write_file("cbtoken", CB_TOKEN);
    E.cb_port = ts_free_port();
    E.listener =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                         (uint16_t)E.cb_port, NULL, NULL, on_callback, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, on_callback_done, NULL, MHD_OPTION_END);
    cr_assert_not_null(E.listener, "callback listener on %d", E.cb_port);
    E.port = ts_free_port();
    snprintf(port, sizeof port, "%d", E.port);
    snprintf(key, sizeof key, "%s/key", E.dir);
    snprintf(tok, sizeof tok, "%s/token", E.dir);
    snprintf(cbtok, sizeof cbtok, "%s/cbtoken", E.dir);
    snprintf(cburl, sizeof cburl, "http://127.0.0.1:%d/notify-receipts", E.cb_port);
    snprintf(record, sizeof record, "%s/record.jsonl", E.dir);
    char *argv[] = {(char *)ts_binary("sim/rollcall-gateway-sim"),
                    "--port",
                    port,
                    "--notify-api-key-file",
                    key,
                    "--twilio-account-sid",
                    ACCOUNT_SID,
                    "--twilio-auth-token-file",
                    tok,
                    "--notify-callback-url",
                    cburl,
                    "--notify-callback-token-file",
                    cbtok,
                    "--deliver-after",
                    "100ms",
                    "--callback-attempts",
                    "2",
                    "--record",
                    record,
                    NULL};
    ts_proc_spawn(&E.sim, E.dir, "sim", argv);
    cr_assert(ts_proc_wait_log(&E.sim, "\"sim.ready\"", 10000), "the sim did not start: %s",
              E.sim.log);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void teardown(void)
{
    int status = ts_proc_stop(&E.sim, SIGTERM, 10000);
    MHD_stop_daemon(E.listener);
    for (int i = 0; i < E.ncbs; i++)
        free(E.cbs[i].body);
    curl_global_cleanup();
    cr_expect_eq(status, 0, "the sim exits 0 on SIGTERM (log %s)", E.sim.log);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", E.dir);
    if (status == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", E.dir);
}

TestSuite(gateway_sim, .init = setup, .fini = teardown, .timeout = 60);

typedef struct {
    CURLcode rc;
    long status;
    char *body;
    size_t len;
    char retry_after[32];
    char www_authenticate[96];
    json_t *json;
    long ms;
} resp_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    resp_t *r = ud;
    char *b = realloc(r->body, r->len + size * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, size * n);
    r->body = b;
    r->len += size * n;
    b[r->len] = '\0';
    return size * n;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
        size_t a = nl + 1, b = len;
        while (a < b && line[a] == ' ')
            a++;
        while (b > a && (line[b - 1] == '\r' || line[b - 1] == '\n'))
            b--;
        snprintf(out, cap, "%.*s", (int)(b - a), line + a);
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    resp_t *r = ud;
    header_value(p, size * n, "Retry-After", r->retry_after, sizeof r->retry_after);
    header_value(p, size * n, "WWW-Authenticate", r->www_authenticate, sizeof r->www_authenticate);
    return size * n;
}

/* request sends method path to the sim with an optional header (such as
 * "Authorization: Bearer ..."), basic auth user:password, and body; a
 * body starting '{' or '[' goes as JSON, any other as a form. */
static resp_t request(const char *method, const char *path, const char *header, const char *userpwd,
                      const char *body, long timeout_ms)
{
    resp_t r = {0};
    char url[512];
    struct timespec t0, t1;
    struct curl_slist *headers = NULL;
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", E.port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (header)
        headers = curl_slist_append(headers, header);
    if (body) {
        headers =
            curl_slist_append(headers, body[0] == '{' || body[0] == '['
                                           ? "Content-Type: application/json"
                                           : "Content-Type: application/x-www-form-urlencoded");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (userpwd)
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r.rc = curl_easy_perform(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    if (r.body)
        r.json = json_loads(r.body, JSON_DECODE_ANY, NULL);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return r;
}

static void resp_free(resp_t *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* bearer writes "Authorization: Bearer <JWT>" issued by iss at now - age_s. */
static void bearer(char *out, size_t cap, const char *secret, const char *iss, long age_s)
{
    jwt_t *jwt = NULL;
    cr_assert_eq(jwt_new(&jwt), 0);
    cr_assert_eq(jwt_add_grant(jwt, "iss", iss), 0);
    cr_assert_eq(jwt_add_grant_int(jwt, "iat", (long)time(NULL) - age_s), 0);
    cr_assert_eq(
        jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret)), 0);
    char *token = jwt_encode_str(jwt);
    cr_assert_not_null(token);
    snprintf(out, cap, "Authorization: Bearer %s", token);
    free(token); /* libjwt 1.10 allocates it with malloc; jwt_free_str came later */
    jwt_free(jwt);
}

static resp_t notify(const char *method, const char *path, const char *body)
{
    char auth[1024];
    bearer(auth, sizeof auth, SECRET, SERVICE_ID, 0);
    return request(method, path, auth, NULL, body, 10000);
}

static resp_t send_sms(const char *phone, const char *reference)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"phone_number\":\"%s\",\"template_id\":\"" TEMPLATE
             "\",\"personalisation\":{\"pupil\":\"A\",\"days\":3},\"reference\":\"%s\"}",
             phone, reference);
    return notify("POST", "/v2/notifications/sms", body);
}

static resp_t twilio(const char *method, const char *path_tail, const char *body)
{
    char path[256];
    snprintf(path, sizeof path, "/2010-04-01/Accounts/" ACCOUNT_SID "%s", path_tail);
    return request(method, path, NULL, ACCOUNT_SID ":" AUTH_TOKEN, body, 10000);
}

/* first_error returns errors[0].error and .message of a Notify error. */
static void expect_notify_error(const resp_t *r, long status, const char *error,
                                const char *message)
{
    cr_expect_eq(r->status, status, "status %ld: %s", r->status, r->body);
    json_t *e = json_array_get(json_object_get(r->json, "errors"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(e, "error")), error, "%s", r->body);
    if (message)
        cr_expect_str_eq(json_string_value(json_object_get(e, "message")), message, "%s", r->body);
    cr_expect_eq(json_integer_value(json_object_get(r->json, "status_code")), status);
}

static void add_fault(const char *json)
{
    resp_t r = request("POST", "/_sim/faults", NULL, NULL, json, 5000);
    cr_assert_eq(r.status, 201, "%s", r.body);
    resp_free(&r);
}

static json_t *sim_messages(void)
{
    resp_t r = request("GET", "/_sim/messages", NULL, NULL, NULL, 5000);
    cr_assert_eq(r.status, 200);
    json_t *arr = json_incref(r.json);
    resp_free(&r);
    return arr;
}

/* wait_callback waits for a callback to path whose body holds needle and
 * returns its index (or -1 after timeout_ms). */
static int wait_callback(const char *path, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        pthread_mutex_lock(&E.lock);
        for (int i = 0; i < E.ncbs; i++)
            if (strcmp(E.cbs[i].path, path) == 0 && strstr(E.cbs[i].body, needle)) {
                pthread_mutex_unlock(&E.lock);
                return i;
            }
        pthread_mutex_unlock(&E.lock);
        ts_sleep_ms(20);
    }
    return -1;
}

Test(gateway_sim, notify_sms_accepted)
{
    resp_t r = send_sms("07700 900123", "ref-sms-1");
    cr_assert_eq(r.status, 201, "%s", r.body);
    const char *id = jstr(r.json, "id");
    cr_assert(id && sim_uuid_valid(id), "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "reference"), "ref-sms-1");
    cr_expect_str_eq(jstr(r.json, "content.body"), "template " TEMPLATE ": pupil=A; days=3");
    cr_expect_str_eq(jstr(r.json, "content.from_number"), "GOVUK");
    cr_expect_str_eq(jstr(r.json, "template.id"), TEMPLATE);
    cr_expect_eq(
        json_integer_value(json_object_get(json_object_get(r.json, "template"), "version")), 1);
    cr_expect(strstr(jstr(r.json, "template.uri"), "/services/" SERVICE_ID "/templates/" TEMPLATE));
    char uri[256];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/v2/notifications/%s", E.port, id);
    cr_expect_str_eq(jstr(r.json, "uri"), uri);
    cr_expect(json_is_null(json_object_get(r.json, "scheduled_for")), "%s", r.body);
    resp_free(&r);
}

Test(gateway_sim, notify_email_accepted)
{
    resp_t r = notify("POST", "/v2/notifications/email",
                      "{\"email_address\":\"parent@example.org\",\"template_id\":\"" TEMPLATE
                      "\",\"personalisation\":{\"pupil\":\"B\"},\"reference\":\"ref-email-1\"}");
    cr_assert_eq(r.status, 201, "%s", r.body);
    cr_expect(sim_uuid_valid(jstr(r.json, "id")));
    cr_expect_str_eq(jstr(r.json, "content.subject"), "template " TEMPLATE);
    cr_expect_str_eq(jstr(r.json, "content.body"), "template " TEMPLATE ": pupil=B");
    cr_expect_str_eq(jstr(r.json, "content.from_email"),
                     "rollcall.sim@notifications.service.gov.uk");
    resp_free(&r);
    r = notify("GET", "/v2/notifications?template_type=email", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *n = json_array_get(json_object_get(r.json, "notifications"), 0);
    cr_expect_str_eq(jstr(n, "email_address"), "parent@example.org");
    cr_expect(json_is_null(json_object_get(n, "phone_number")));
    cr_expect_str_eq(jstr(n, "type"), "email");
    resp_free(&r);
}

Test(gateway_sim, notify_auth_refusals)
{
    char auth[1024];
    const char *body = "{\"phone_number\":\"07700900123\",\"template_id\":\"" TEMPLATE "\"}";

    bearer(auth, sizeof auth, "00000000-0000-4000-8000-000000000000", SERVICE_ID, 0);
    resp_t r = request("POST", "/v2/notifications/sms", auth, NULL, body, 5000);
    expect_notify_error(&r, 403, "AuthError", "Invalid token: API key not found");
    resp_free(&r);

    bearer(auth, sizeof auth, SECRET, SERVICE_ID, 60);
    r = request("POST", "/v2/notifications/sms", auth, NULL, body, 5000);
    expect_notify_error(&r, 403, "AuthError",
                        "Error: Your system clock must be accurate to within 30 seconds");
    resp_free(&r);

    bearer(auth, sizeof auth, SECRET, "11111111-2222-4333-8444-555555555555", 0);
    r = request("POST", "/v2/notifications/sms", auth, NULL, body, 5000);
    expect_notify_error(&r, 403, "AuthError", "Invalid token: service not found");
    resp_free(&r);

    r = request("POST", "/v2/notifications/sms", NULL, NULL, body, 5000);
    expect_notify_error(&r, 401, "AuthError",
                        "Unauthorized: authentication token must be provided");
    resp_free(&r);

    r = request("POST", "/v2/notifications/sms", "Authorization: Basic Zm9vOmJhcg==", NULL, body,
                5000);
    expect_notify_error(&r, 401, "AuthError",
                        "Unauthorized: authentication bearer scheme must be used");
    resp_free(&r);

    /* An unsigned token must not pass. */
    r = request(
        "POST", "/v2/notifications/sms",
        "Authorization: Bearer "
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
        "eyJpc3MiOiIyNjc4NWEwOS1hYjE2LTRlYjAtODQwNy1hMzc0OTdhNTc1MDYiLCJpYXQiOjE3MDAwMDAwMDB9.",
        NULL, body, 5000);
    expect_notify_error(&r, 403, "AuthError", NULL);
    resp_free(&r);

    json_t *msgs = sim_messages();
    cr_expect_eq(json_array_size(msgs), 0, "nothing refused is recorded");
    json_decref(msgs);
}

Test(gateway_sim, notify_validation_errors)
{
    resp_t r = send_sms("+1 555 123 4567", "ref-bad");
    expect_notify_error(&r, 400, "ValidationError", "phone_number Not a UK mobile number");
    resp_free(&r);

    r = notify("POST", "/v2/notifications/sms", "{\"phone_number\":\"07700900123\"}");
    expect_notify_error(&r, 400, "ValidationError", "template_id is a required property");
    resp_free(&r);

    r = notify("POST", "/v2/notifications/sms",
               "{\"phone_number\":\"07700900123\",\"template_id\":\"not-a-uuid\"}");
    expect_notify_error(&r, 400, "ValidationError", "template_id is not a valid UUID");
    resp_free(&r);

    r = notify("POST", "/v2/notifications/email",
               "{\"email_address\":\"nobody-at-example.org\",\"template_id\":\"" TEMPLATE "\"}");
    expect_notify_error(&r, 400, "ValidationError", "email_address Not a valid email address");
    resp_free(&r);

    r = notify("POST", "/v2/notifications/sms", "{not json");
    expect_notify_error(&r, 400, "BadRequestError", "Invalid JSON supplied in POST data");
    resp_free(&r);

    /* Every problem at once, as Notify lists them. */
    r = notify("POST", "/v2/notifications/sms", "{\"personalisation\":[1]}");
    cr_expect_eq(r.status, 400);
    cr_expect_eq(json_array_size(json_object_get(r.json, "errors")), 3, "%s", r.body);
    resp_free(&r);
}

Test(gateway_sim, notify_lookup_by_reference_and_id)
{
    resp_t a = send_sms("07700900111", "ref-a"), b = send_sms("07700900222", "ref-b"),
           c = send_sms("07700900333", "ref-a");
    cr_assert(a.status == 201 && b.status == 201 && c.status == 201);

    resp_t r = notify("GET", "/v2/notifications?reference=ref-b", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *list = json_object_get(r.json, "notifications");
    cr_assert_eq(json_array_size(list), 1, "%s", r.body);
    json_t *n = json_array_get(list, 0);
    cr_expect_str_eq(jstr(n, "id"), jstr(b.json, "id"));
    cr_expect_str_eq(jstr(n, "reference"), "ref-b");
    cr_expect_str_eq(jstr(n, "phone_number"), "07700900222");
    cr_expect_str_eq(jstr(n, "type"), "sms");
    cr_expect_str_eq(jstr(n, "template.id"), TEMPLATE);
    cr_expect(jstr(n, "created_at") && strlen(jstr(n, "created_at")) == 27, "%s", r.body);
    cr_expect(strstr(jstr(r.json, "links.current"), "reference=ref-b"));
    cr_expect(strstr(jstr(r.json, "links.next"), "older_than="));
    resp_free(&r);

    r = notify("GET", "/v2/notifications?reference=ref-a", NULL);
    list = json_object_get(r.json, "notifications");
    cr_assert_eq(json_array_size(list), 2);
    cr_expect_str_eq(jstr(json_array_get(list, 0), "id"), jstr(c.json, "id"), "newest first");
    resp_free(&r);

    char path[128];
    snprintf(path, sizeof path, "/v2/notifications/%s", jstr(a.json, "id"));
    r = notify("GET", path, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "reference"), "ref-a");
    cr_expect(strcmp(jstr(r.json, "status"), "sending") == 0 ||
                  strcmp(jstr(r.json, "status"), "delivered") == 0,
              "%s", r.body);
    resp_free(&r);

    r = notify("GET", "/v2/notifications/00000000-0000-4000-8000-000000000000", NULL);
    expect_notify_error(&r, 404, "NoResultFound", "No result found");
    resp_free(&r);
    r = notify("GET", "/v2/notifications/xyz", NULL);
    expect_notify_error(&r, 400, "ValidationError", "notification_id is not a valid UUID");
    resp_free(&r);
    r = notify("GET", "/v2/notifications?status=lost", NULL);
    expect_notify_error(&r, 400, "ValidationError", NULL);
    resp_free(&r);
    resp_free(&a);
    resp_free(&b);
    resp_free(&c);
}

Test(gateway_sim, fault_status_answers_once_and_records_nothing)
{
    add_fault("{\"path\":\"/v2/notifications/sms\",\"kind\":\"status\",\"status\":500}");
    resp_t r = send_sms("07700900123", "ref-500");
    expect_notify_error(&r, 500, "Exception", "Internal server error");
    resp_free(&r);
    r = send_sms("07700900123", "ref-500");
    cr_expect_eq(r.status, 201, "the fault was used up: %s", r.body);
    resp_free(&r);

    json_t *msgs = sim_messages();
    cr_expect_eq(json_array_size(msgs), 1);
    json_decref(msgs);
    r = request("GET", "/_sim/stats", NULL, NULL, NULL, 5000);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(r.json, "faults"), "consumed")),
                 1, "%s", r.body);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(r.json, "requests"), "notify")),
                 2, "%s", r.body);
    resp_free(&r);
}

Test(gateway_sim, fault_retry_after_in_each_gateways_shape)
{
    add_fault("[{\"path\":\"/v2/\",\"kind\":\"retry_after\",\"retry_after_s\":2},"
              "{\"path\":\"/2010-04-01/\",\"kind\":\"retry_after\",\"retry_after_s\":7}]");
    resp_t r = send_sms("07700900123", "ref-429");
    expect_notify_error(&r, 429, "RateLimitError", NULL);
    cr_expect_str_eq(r.retry_after, "2");
    resp_free(&r);

    r = twilio("POST", "/Messages.json", "To=%2B447700900123&From=%2B15005550006&Body=hi");
    cr_expect_eq(r.status, 429, "%s", r.body);
    cr_expect_str_eq(r.retry_after, "7");
    cr_expect_eq(json_integer_value(json_object_get(r.json, "code")), 20429, "%s", r.body);
    resp_free(&r);

    add_fault("{\"kind\":\"status\",\"status\":429,\"error\":\"TooManyRequestsError\","
              "\"message\":\"Exceeded send limits (250000) for today\"}");
    r = send_sms("07700900123", "ref-429");
    expect_notify_error(&r, 429, "TooManyRequestsError", "Exceeded send limits (250000) for today");
    cr_expect_str_eq(r.retry_after, "", "only retry_after faults send Retry-After");
    resp_free(&r);
}

Test(gateway_sim, fault_slow_answers_late_but_accepts)
{
    add_fault("{\"path\":\"/v2/notifications/sms\",\"kind\":\"slow\",\"delay_ms\":700,"
              "\"count\":2}");
    resp_t r = send_sms("07700900123", "ref-slow-1");
    cr_expect_eq(r.status, 201);
    cr_expect_geq(r.ms, 650, "answered after %ld ms", r.ms);
    resp_free(&r);

    /* A client that gives up first: the message was still accepted. */
    char auth[1024];
    bearer(auth, sizeof auth, SECRET, SERVICE_ID, 0);
    r = request("POST", "/v2/notifications/sms", auth, NULL,
                "{\"phone_number\":\"07700900123\",\"template_id\":\"" TEMPLATE
                "\",\"reference\":\"ref-slow-2\"}",
                200);
    cr_expect_eq(r.rc, CURLE_OPERATION_TIMEDOUT, "curl: %s", curl_easy_strerror(r.rc));
    resp_free(&r);
    json_t *msgs = sim_messages();
    cr_expect_eq(json_array_size(msgs), 2);
    cr_expect_str_eq(jstr(json_array_get(msgs, 1), "reference"), "ref-slow-2");
    json_decref(msgs);
}

Test(gateway_sim, fault_drop_after_receive_accepts_and_delivers)
{
    add_fault("{\"path\":\"/v2/notifications/sms\",\"kind\":\"drop_after_receive\"}");
    resp_t r = send_sms("07700900123", "ref-dropped");
    cr_expect_eq(r.rc, CURLE_GOT_NOTHING, "curl: %s", curl_easy_strerror(r.rc));
    cr_expect_eq(r.status, 0);
    resp_free(&r);

    json_t *msgs = sim_messages();
    cr_assert_eq(json_array_size(msgs), 1);
    json_t *m = json_array_get(msgs, 0);
    cr_expect_str_eq(jstr(m, "reference"), "ref-dropped");
    cr_expect_str_eq(jstr(m, "gateway"), "notify");
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(m, "id"));
    json_decref(msgs);

    /* The caller reconciles by reference, as the notify service must. */
    r = notify("GET", "/v2/notifications?reference=ref-dropped", NULL);
    cr_expect_str_eq(jstr(json_array_get(json_object_get(r.json, "notifications"), 0), "id"), id);
    resp_free(&r);
    cr_expect_geq(wait_callback("/notify-receipts", id, 5000), 0, "the dropped one is delivered");
}

Test(gateway_sim, fault_reset_before_receive_records_nothing)
{
    add_fault("{\"path\":\"/v2/notifications/sms\",\"kind\":\"reset_before_receive\"}");
    resp_t r = send_sms("07700900123", "ref-reset");
    cr_expect(r.rc == CURLE_RECV_ERROR || r.rc == CURLE_GOT_NOTHING || r.rc == CURLE_SEND_ERROR,
              "curl: %s", curl_easy_strerror(r.rc));
    resp_free(&r);
    json_t *msgs = sim_messages();
    cr_expect_eq(json_array_size(msgs), 0);
    json_decref(msgs);
    r = send_sms("07700900123", "ref-reset");
    cr_expect_eq(r.status, 201, "only one request is reset");
    resp_free(&r);
}

Test(gateway_sim, sim_endpoints_list_clear_and_refuse_bad_faults)
{
    resp_t r = request("POST", "/_sim/faults", NULL, NULL, "{\"kind\":\"melt\"}", 5000);
    cr_expect_eq(r.status, 400, "%s", r.body);
    resp_free(&r);
    add_fault("{\"path\":\"/v2/\",\"kind\":\"status\",\"count\":3}");
    r = request("GET", "/_sim/faults", NULL, NULL, NULL, 5000);
    cr_expect_eq(json_array_size(json_object_get(r.json, "pending")), 1, "%s", r.body);
    resp_free(&r);
    r = request("DELETE", "/_sim/faults", NULL, NULL, NULL, 5000);
    cr_expect_eq(json_integer_value(json_object_get(r.json, "cleared")), 1, "%s", r.body);
    resp_free(&r);

    r = send_sms("07700900123", "ref-x");
    cr_expect_eq(r.status, 201);
    resp_free(&r);
    r = request("DELETE", "/_sim/messages", NULL, NULL, NULL, 5000);
    cr_expect_eq(json_integer_value(json_object_get(r.json, "cleared")), 1, "%s", r.body);
    resp_free(&r);
    json_t *msgs = sim_messages();
    cr_expect_eq(json_array_size(msgs), 0);
    json_decref(msgs);
}

Test(gateway_sim, twilio_create_and_fetch)
{
    resp_t r = twilio("POST", "/Messages.json",
                      "To=%2B447700900123&From=%2B15005550006&Body=Attendance+alert");
    cr_assert_eq(r.status, 201, "%s", r.body);
    const char *sid = jstr(r.json, "sid");
    cr_assert(sid && sim_sid_valid(sid, "SM"), "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "account_sid"), ACCOUNT_SID);
    cr_expect_str_eq(jstr(r.json, "to"), "+447700900123");
    cr_expect_str_eq(jstr(r.json, "from"), "+15005550006");
    cr_expect_str_eq(jstr(r.json, "body"), "Attendance alert");
    cr_expect_str_eq(jstr(r.json, "status"), "queued");
    cr_expect_str_eq(jstr(r.json, "num_segments"), "1");
    cr_expect_str_eq(jstr(r.json, "direction"), "outbound-api");
    cr_expect_str_eq(jstr(r.json, "api_version"), "2010-04-01");
    const char *created = jstr(r.json, "date_created");
    cr_expect(created && strlen(created) == 31 && strcmp(created + 25, " +0000") == 0 &&
                  created[3] == ',',
              "RFC 2822: %s", created ? created : "(null)");
    char uri[160];
    snprintf(uri, sizeof uri, "/2010-04-01/Accounts/" ACCOUNT_SID "/Messages/%s.json", sid);
    cr_expect_str_eq(jstr(r.json, "uri"), uri);
    cr_expect(strstr(jstr(r.json, "subresource_uris.media"), "/Media.json"));

    char tail[80];
    snprintf(tail, sizeof tail, "/Messages/%s.json", sid);
    resp_t f = twilio("GET", tail, NULL);
    cr_expect_eq(f.status, 200, "%s", f.body);
    cr_expect_str_eq(jstr(f.json, "sid"), sid);
    resp_free(&f);
    f = twilio("GET", "/Messages/SM00000000000000000000000000000000.json", NULL);
    cr_expect_eq(f.status, 404);
    cr_expect_eq(json_integer_value(json_object_get(f.json, "code")), 20404, "%s", f.body);
    resp_free(&f);
    resp_free(&r);

    r = twilio("POST", "/Messages.json",
               "To=%2B447700900123&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&Body=hi");
    cr_expect_eq(r.status, 201, "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "status"), "accepted");
    resp_free(&r);
}

Test(gateway_sim, twilio_list_finds_a_dropped_message_as_notify_looks_for_it)
{
    char day[16], tail[200];
    time_t now = time(NULL);
    struct tm tm;
    strftime(day, sizeof day, "%Y-%m-%d", gmtime_r(&now, &tm));
    add_fault("{\"path\":\"/2010-04-01/\",\"method\":\"POST\",\"kind\":\"drop_after_receive\"}");
    resp_t r = twilio("POST", "/Messages.json",
                      "To=%2B447700900123&From=%2B447700900000&Body=Absent+today");
    cr_expect_eq(r.rc, CURLE_GOT_NOTHING, "curl: %s", curl_easy_strerror(r.rc));
    resp_free(&r);

    /* The caller lists what went to the number since the attempt's day, as
     * rollcall-notify does; the message is there once it has a date_sent. */
    snprintf(tail, sizeof tail, "/Messages.json?To=%%2B447700900123&DateSent%%3E=%s", day);
    json_t *m = NULL;
    for (int waited = 0; waited <= 5000 && !m; waited += 50) {
        r = twilio("GET", tail, NULL);
        cr_assert_eq(r.status, 200, "%s", r.body);
        m = json_incref(json_array_get(json_object_get(r.json, "messages"), 0));
        if (m) {
            cr_expect_eq(json_array_size(json_object_get(r.json, "messages")), 1, "%s", r.body);
            char uri[200];
            snprintf(uri, sizeof uri,
                     "/2010-04-01/Accounts/" ACCOUNT_SID
                     "/Messages.json?To=%%2B447700900123&DateSent%%3E=%s&PageSize=50&Page=0",
                     day);
            cr_expect_str_eq(jstr(r.json, "uri"), uri);
            cr_expect(json_is_null(json_object_get(r.json, "next_page_uri")));
        }
        resp_free(&r);
        if (!m)
            ts_sleep_ms(50);
    }
    cr_assert_not_null(m, "the dropped message was never listed");
    cr_expect_str_eq(jstr(m, "to"), "+447700900123");
    cr_expect_str_eq(jstr(m, "body"), "Absent today");
    cr_expect(sim_sid_valid(jstr(m, "sid"), "SM"));
    cr_expect_not_null(jstr(m, "date_sent"));
    json_decref(m);

    r = request("GET", "/2010-04-01/Accounts/" ACCOUNT_SID "/Messages.json", NULL, NULL, NULL,
                5000);
    cr_expect_eq(r.status, 401, "listing needs the same basic auth");
    resp_free(&r);
}

Test(gateway_sim, twilio_auth_and_validation)
{
    resp_t r =
        request("POST", "/2010-04-01/Accounts/" ACCOUNT_SID "/Messages.json", NULL,
                ACCOUNT_SID ":wrong-token", "To=%2B447700900123&From=%2B15005550006&Body=hi", 5000);
    cr_expect_eq(r.status, 401);
    cr_expect_eq(json_integer_value(json_object_get(r.json, "code")), 20003, "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "more_info"), "https://www.twilio.com/docs/errors/20003");
    cr_expect_str_eq(r.www_authenticate, "Basic realm=\"Twilio API\"");
    resp_free(&r);

    r = request("POST", "/2010-04-01/Accounts/" ACCOUNT_SID "/Messages.json", NULL, NULL,
                "To=%2B447700900123&From=%2B15005550006&Body=hi", 5000);
    cr_expect_eq(r.status, 401);
    resp_free(&r);

    r = twilio("POST", "/Messages.json", "To=07700+900123&From=%2B15005550006&Body=hi");
    cr_expect_eq(r.status, 400);
    cr_expect_eq(json_integer_value(json_object_get(r.json, "code")), 21211, "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "message"), "Invalid 'To' Phone Number: 07700 900123");
    cr_expect_str_eq(jstr(r.json, "more_info"), "https://www.twilio.com/docs/errors/21211");
    cr_expect_eq(json_integer_value(json_object_get(r.json, "status")), 400);
    resp_free(&r);

    /* Twilio's magic numbers are refused as Twilio refuses them. */
    r = twilio("POST", "/Messages.json", "To=%2B15005550001&From=%2B15005550006&Body=hi");
    cr_expect_eq(r.status, 400);
    cr_expect_eq(json_integer_value(json_object_get(r.json, "code")), 21211, "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "message"), "Invalid 'To' Phone Number: +15005550001");
    resp_free(&r);
    r = twilio("POST", "/Messages.json", "To=%2B15005550004&From=%2B15005550006&Body=hi");
    cr_expect_eq(r.status, 400);
    cr_expect_eq(json_integer_value(json_object_get(r.json, "code")), 21610, "%s", r.body);
    cr_expect_str_eq(jstr(r.json, "message"), "Attempt to send to unsubscribed recipient");
    resp_free(&r);

    r = twilio("POST", "/Messages.json", "To=%2B447700900123&Body=hi");
    cr_expect_eq(json_integer_value(json_object_get(r.json, "code")), 21603, "%s", r.body);
    resp_free(&r);
    r = twilio("POST", "/Messages.json", "To=%2B447700900123&From=%2B15005550006");
    cr_expect_eq(json_integer_value(json_object_get(r.json, "code")), 21602, "%s", r.body);
    resp_free(&r);

    json_t *msgs = sim_messages();
    cr_expect_eq(json_array_size(msgs), 0);
    json_decref(msgs);
}

Test(gateway_sim, notify_receipts_reach_the_callback_url)
{
    resp_t ok = send_sms("07700 900123", "ref-rcpt-ok");
    resp_t bad = send_sms("07700 900999", "ref-rcpt-bad");
    cr_assert(ok.status == 201 && bad.status == 201);

    int i = wait_callback("/notify-receipts", jstr(ok.json, "id"), 5000);
    cr_assert_geq(i, 0, "no Notify receipt arrived");
    cr_expect_str_eq(E.cbs[i].authorization, "Bearer " CB_TOKEN);
    cr_expect_str_eq(E.cbs[i].content_type, "application/json");
    json_t *j = json_loads(E.cbs[i].body, 0, NULL);
    cr_assert_not_null(j, "%s", E.cbs[i].body);
    cr_expect_str_eq(jstr(j, "reference"), "ref-rcpt-ok");
    cr_expect_str_eq(jstr(j, "to"), "07700 900123");
    cr_expect_str_eq(jstr(j, "status"), "delivered");
    cr_expect_str_eq(jstr(j, "notification_type"), "sms");
    cr_expect(jstr(j, "created_at") && jstr(j, "completed_at") && jstr(j, "sent_at"), "%s",
              E.cbs[i].body);
    json_decref(j);

    i = wait_callback("/notify-receipts", jstr(bad.json, "id"), 5000);
    cr_assert_geq(i, 0, "no receipt for the reserved number");
    j = json_loads(E.cbs[i].body, 0, NULL);
    cr_expect_str_eq(jstr(j, "status"), "permanent-failure");
    json_decref(j);

    char path[128];
    snprintf(path, sizeof path, "/v2/notifications/%s", jstr(bad.json, "id"));
    resp_t r = notify("GET", path, NULL);
    cr_expect_str_eq(jstr(r.json, "status"), "permanent-failure");
    cr_expect(jstr(r.json, "completed_at") != NULL, "%s", r.body);
    resp_free(&r);
    resp_free(&ok);
    resp_free(&bad);
}

Test(gateway_sim, twilio_status_callbacks_are_signed)
{
    char body[300];
    snprintf(body, sizeof body,
             "To=%%2B447700900999&From=%%2B15005550006&Body=hi&StatusCallback=http%%3A%%2F%%2F127."
             "0.0.1%%3A%d%%2Ftwilio-status",
             E.cb_port);
    resp_t r = twilio("POST", "/Messages.json", body);
    cr_assert_eq(r.status, 201, "%s", r.body);
    const char *sid = jstr(r.json, "sid");

    char needle[80];
    snprintf(needle, sizeof needle, "MessageStatus=undelivered");
    int i = wait_callback("/twilio-status", needle, 5000);
    cr_assert_geq(i, 0, "no final Twilio status callback");
    cr_expect(strstr(E.cbs[i].body, sid), "%s", E.cbs[i].body);
    cr_expect(strstr(E.cbs[i].body, "ErrorCode=30005"), "%s", E.cbs[i].body);
    cr_expect(strstr(E.cbs[i].body, "AccountSid=" ACCOUNT_SID), "%s", E.cbs[i].body);
    cr_expect(strstr(E.cbs[i].body, "To=%2B447700900999"), "%s", E.cbs[i].body);
    cr_expect_str_eq(E.cbs[i].content_type, "application/x-www-form-urlencoded");
    cr_expect_geq(wait_callback("/twilio-status", "MessageStatus=sent", 100), 0, "sent came first");

    /* The signature covers the URL and the sorted parameters. */
    sim_param_t params[16];
    size_t n = 0;
    char *copy = strdup(E.cbs[i].body);
    for (char *save = NULL, *kv = strtok_r(copy, "&", &save); kv && n < 16;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        params[n++] = (sim_param_t){sim_url_decode(kv), sim_url_decode(eq + 1)};
    }
    char url[96], sig[SIM_TWILIO_SIG_MAX];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/twilio-status", E.cb_port);
    sim_twilio_signature(AUTH_TOKEN, url, params, n, sig);
    cr_expect_str_eq(E.cbs[i].signature, sig);
    free(copy);

    char tail[80];
    snprintf(tail, sizeof tail, "/Messages/%s.json", sid);
    resp_t f = twilio("GET", tail, NULL);
    cr_expect_str_eq(jstr(f.json, "status"), "undelivered", "%s", f.body);
    cr_expect_eq(json_integer_value(json_object_get(f.json, "error_code")), 30005);
    resp_free(&f);
    resp_free(&r);
}

Test(gateway_sim, failing_callback_url_is_retried_then_counted)
{
    pthread_mutex_lock(&E.lock);
    E.cb_status = 500;
    pthread_mutex_unlock(&E.lock);
    resp_t r = send_sms("07700900123", "ref-cb-500");
    cr_assert_eq(r.status, 201);
    resp_free(&r);
    int failed = 0;
    for (int waited = 0; waited < 5000 && !failed; waited += 50) {
        ts_sleep_ms(50);
        r = request("GET", "/_sim/stats", NULL, NULL, NULL, 5000);
        failed = (int)json_integer_value(
            json_object_get(json_object_get(r.json, "callbacks"), "failed"));
        resp_free(&r);
    }
    cr_expect_eq(failed, 1);
    pthread_mutex_lock(&E.lock);
    cr_expect_eq(E.ncbs, 2, "--callback-attempts 2");
    pthread_mutex_unlock(&E.lock);
}

Test(gateway_sim, logs_hold_no_phone_numbers_or_addresses)
{
    resp_t r = send_sms("07700 900123", "ref-log");
    resp_free(&r);
    r = notify("POST", "/v2/notifications/email",
               "{\"email_address\":\"parent@example.org\",\"template_id\":\"" TEMPLATE "\"}");
    resp_free(&r);
    r = twilio("POST", "/Messages.json", "To=%2B447700900123&From=%2B15005550006&Body=hi");
    resp_free(&r);
    cr_assert(ts_proc_wait_log(&E.sim, "\"gateway\":\"twilio\",\"type\":\"sms\"", 5000));
    FILE *f = fopen(E.sim.log, "r");
    cr_assert_not_null(f);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        cr_expect_null(strstr(line, "900123"), "%s", line);
        cr_expect_null(strstr(line, "parent@example.org"), "%s", line);
        cr_expect_null(strstr(line, AUTH_TOKEN), "%s", line);
        cr_expect_null(strstr(line, SECRET), "%s", line);
    }
    fclose(f);
    char path[128];
    snprintf(path, sizeof path, "%s/record.jsonl", E.dir);
    f = fopen(path, "r");
    cr_assert_not_null(f, "--record writes its file");
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        lines += j != NULL;
        json_decref(j);
    }
    fclose(f);
    cr_expect_geq(lines, 3);
}
