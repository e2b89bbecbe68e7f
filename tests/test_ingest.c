/* test_ingest.c - rollcall-ingest as a process against a real redis-server
 * (AOF on), driven over real HTTP and heard over a real ZeroMQ SUB socket:
 * every bad-input class, durability across restarts of ingest and of Redis,
 * duplicates and late older marks, and what is published. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "rollcall/codec.h"
#include "testsupport.h"

static ts_redis_t redis;
static ts_proc_t ingest;
static int http_port, pub_port;
static void *zctx, *sub;

/* ---- ingest as a process ---- */

static void start_ingest(void)
{
    ts_start_ingest(&ingest, &redis, http_port, pub_port, "--max-body", "65536", "--http-timeout",
                    "1s", NULL);
}

/* ---- HTTP ---- */

/* request sends method path to ingest, waiting up to 20 s for the answer. */
static ts_http_resp_t request(const char *method, const char *path, const char *ctype,
                              const char *body, size_t len)
{
    ts_http_req_t req = {.content_type = ctype, .body = body, .len = len, .timeout_ms = 20000};
    return ts_http_request(http_port, method, path, &req);
}

static ts_http_resp_t post(const char *path, const char *ctype, const char *body)
{
    return request("POST", path, ctype, body, strlen(body));
}

static json_int_t field(const ts_http_resp_t *r, const char *key)
{
    json_t *v = json_object_get(r->json, key);
    cr_assert(json_is_integer(v), "no %s in %s", key, r->body);
    return json_integer_value(v);
}

/* rejected_at returns the reason given for (row, column), or NULL. */
static const char *rejected_at(const ts_http_resp_t *r, const char *rowkey, int row,
                               const char *column)
{
    json_t *list = json_object_get(r->json, "rejected"), *e;
    size_t i;
    json_array_foreach(list, i, e)
    {
        if (json_integer_value(json_object_get(e, rowkey)) == row &&
            strcmp(json_string_value(json_object_get(e, "column")), column) == 0)
            return json_string_value(json_object_get(e, "reason"));
    }
    return NULL;
}

/* ---- the reference data every test starts from ---- */

#define SCHOOLS                                                                                    \
    "urn,name,la_code,trust_id,policy\n"                                                           \
    "100001,Lowther Endowed,909,T1,002_lowther\n"                                                  \
    "100002,Grange Hill,909,T1,000_flowchart\n"
#define CALENDAR                                                                                   \
    "urn,kind,from,to,session\n"                                                                   \
    "100001,term,2026-01-05,2026-03-27,\n"                                                         \
    "100001,closure,2026-02-16,2026-02-20,ALL\n"                                                   \
    "100001,closure,2026-03-27,2026-03-27,PM\n"                                                    \
    "100002,term,2026-01-05,2026-03-27,\n"
#define PUPILS                                                                                     \
    "urn,upn,forename,surname,year_group,date_of_birth,on_roll_from,on_roll_to,sen,fsm,eal,cla,"   \
    "social_worker\n"                                                                              \
    "100001,B801200005001,Ann,Smith,4,2017-03-02,2025-09-01,,N,Y,N,N,N\n"                          \
    "100001,P207000016049,Bob,Jones,4,2017-05-02,2025-09-01,2026-01-31,N,N,N,N,N\n"                \
    "100002,B801200005001,Ann,Smith,4,2017-03-02,2026-02-01,,N,Y,N,N,N\n"

#define HEADER "urn,upn,date,session,code,minutes_late,recorded_at\n"

static void subscribe(void)
{
    char ep[64];
    int hwm = 100000, linger = 0;
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", pub_port);
    sub = zmq_socket(zctx, ZMQ_SUB);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "mark.", 5);
    cr_assert_eq(zmq_connect(sub, ep), 0);
    ts_sleep_ms(200); /* the slow joiner: let the subscription reach the PUB */
}

static void setup(void)
{
    ts_redis_start(&redis, 1);
    http_port = ts_free_port();
    pub_port = ts_free_port();
    start_ingest();
    zctx = zmq_ctx_new();
    subscribe();
    const char *paths[] = {"/v1/schools", "/v1/calendar", "/v1/pupils"};
    const char *bodies[] = {SCHOOLS, CALENDAR, PUPILS};
    for (int i = 0; i < 3; i++) {
        ts_http_resp_t r = post(paths[i], "text/csv", bodies[i]);
        cr_assert_eq(r.status, 200, "%s: %s", paths[i], r.body);
        ts_http_resp_free(&r);
    }
}

static void teardown(void)
{
    if (sub)
        zmq_close(sub);
    sub = NULL;
    if (zctx)
        zmq_ctx_term(zctx);
    zctx = NULL;
    /* A clean exit: under ASan a leak or a bad access makes it non-zero. */
    int status = ts_proc_stop(&ingest, SIGTERM, 5000);
    if (status != 0) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "tail -n 40 '%s' >&2", ingest.log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
    }
    ts_redis_stop(&redis);
    cr_assert_eq(status, 0, "rollcall-ingest exited with %d", status);
}

TestSuite(ingest, .init = setup, .fini = teardown, .timeout = 60);

/* recv_mark reads one published mark (or fails after timeout_ms). */
static int recv_mark(wire_msg_t *msg, char topic[64], int timeout_ms)
{
    zmq_pollitem_t it = {.socket = sub, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return 0;
    char buf[CODEC_MAX_MESSAGE];
    int n = zmq_recv(sub, topic, 63, 0);
    cr_assert_geq(n, 0);
    topic[n] = '\0';
    n = zmq_recv(sub, buf, sizeof buf, 0);
    cr_assert_gt(n, 0);
    char why[CODEC_WHY_MAX];
    cr_assert_eq(codec_decode((const uint8_t *)buf, (size_t)n, msg, why), RC_OK, "%s", why);
    return 1;
}

static long long redis_int(const char *fmt, const char *arg)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, fmt, arg);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : -1;
    freeReplyObject(r);
    redisFree(c);
    return v;
}

/* ---- accepted marks ---- */

Test(ingest, marks_stored_then_published_in_order)
{
    ts_http_resp_t r = post("/v1/marks", "text/csv",
                            HEADER "100001,B801200005001,2026-01-05,AM,N,,2026-01-05T08:40:00Z\n"
                                   "100001,B801200005001,2026-01-05,PM,C1,,2026-01-05T13:10:00Z\n"
                                   "100001,B801200005001,2026-01-06,AM,\\,,2026-01-06T08:40:00Z\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(field(&r, "received"), 3);
    cr_assert_eq(field(&r, "accepted"), 3);
    cr_assert_eq(field(&r, "rejected_rows"), 0);
    ts_http_resp_free(&r);
    /* Three reference changes (school, calendar, pupils) came first. */
    cr_assert_eq(redis_int("XLEN %s", "rc:log:{100001}"), 3 + 3);

    const char *codes[] = {"N", "C1", "\\"};
    uint64_t last = 0;
    for (int i = 0; i < 3; i++) {
        wire_msg_t m;
        char topic[64];
        cr_assert(recv_mark(&m, topic, 3000), "mark %d not published", i);
        cr_assert_str_eq(topic, "mark.100001.");
        cr_assert_eq(m.kind, WIRE_MARK);
        cr_assert_str_eq(code_str(m.u.mark.code), codes[i]);
        cr_assert_str_eq(m.u.mark.upn, "B801200005001");
        cr_assert_gt(m.seq, last, "sequence numbers rise");
        last = m.seq;
        char id[CODEC_EVENT_ID_HEX + 1];
        codec_event_id_mark(&m.u.mark, id);
        cr_assert_str_eq(m.event_id, id);
    }
}

Test(ingest, json_marks_and_index_reporting)
{
    ts_http_resp_t r =
        post("/v1/marks", "application/json",
             "[{\"urn\":\"100001\",\"upn\":\"B801200005001\",\"date\":\"2026-01-07\","
             "\"session\":\"AM\",\"code\":\"L\",\"minutes_late\":12,"
             "\"recorded_at\":\"2026-01-07T09:12:00Z\"},"
             "{\"urn\":\"100001\",\"upn\":12,\"date\":\"2026-01-07\",\"session\":\"PM\","
             "\"code\":\"/\",\"recorded_at\":\"2026-01-07T13:00:00Z\"}]");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(field(&r, "accepted"), 1);
    cr_assert_eq(field(&r, "rejected_rows"), 1);
    const char *why = rejected_at(&r, "index", 1, "upn");
    cr_assert_not_null(why, "%s", r.body);
    cr_assert(strstr(why, "string"), "%s", why);
    ts_http_resp_free(&r);
}

Test(ingest, duplicates_and_late_older_marks)
{
    const char *n = HEADER "100001,B801200005001,2026-01-12,AM,N,,2026-01-12T08:40:00Z\n";
    const char *amend = HEADER "100001,B801200005001,2026-01-12,AM,I,,2026-01-12T10:00:00Z\n";
    const char *older = HEADER "100001,B801200005001,2026-01-12,AM,O,,2026-01-12T09:00:00Z\n";
    ts_http_resp_t r = post("/v1/marks", "text/csv", n);
    cr_assert_eq(field(&r, "accepted"), 1);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "text/csv", n); /* the same mark twice: accepted once */
    cr_assert_eq(r.status, 200);
    cr_assert_eq(field(&r, "accepted"), 0);
    cr_assert_eq(field(&r, "duplicates"), 1);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "text/csv", amend);
    cr_assert_eq(field(&r, "accepted"), 1);
    cr_assert_eq(field(&r, "superseded"), 0);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "text/csv", older); /* kept for the record, changes nothing */
    cr_assert_eq(field(&r, "accepted"), 1);
    cr_assert_eq(field(&r, "superseded"), 1);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "text/csv", older);
    cr_assert_eq(field(&r, "duplicates"), 1);
    ts_http_resp_free(&r);
    /* Three versions stored, the amendment first (the winner). */
    redisContext *c = ts_redis_connect(&redis);
    redisReply *v = redisCommand(c, "HGET rc:mv:{100001}:B801200005001 2026-01-12:AM");
    cr_assert_eq(v->type, REDIS_REPLY_STRING);
    int commas = 0;
    for (const char *p = v->str; *p; p++)
        commas += *p == ',';
    cr_assert_eq(commas, 2, "%s", v->str);
    char code_i[8];
    snprintf(code_i, sizeof code_i, ":%d:", (int)CODE_I);
    cr_assert(strstr(v->str, code_i) && strstr(v->str, code_i) < strchr(v->str, ','), "%s", v->str);
    freeReplyObject(v);
    redisFree(c);
}

/* ---- every bad-input class ---- */

static void expect_rejected(const char *body, int line, const char *column, const char *needle)
{
    ts_http_resp_t r = post("/v1/marks", "text/csv", body);
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert_eq(field(&r, "accepted"), 0);
    const char *why = rejected_at(&r, "line", line, column);
    cr_assert_not_null(why, "no rejection at line %d column %s: %s", line, column, r.body);
    cr_assert(strstr(why, needle), "'%s' lacks '%s'", why, needle);
    cr_assert_null(strstr(r.body, "B801200005001"), "a UPN echoed back: %s", r.body);
    ts_http_resp_free(&r);
}

Test(ingest, bad_rows_named_by_line_and_column)
{
    expect_rejected(HEADER "100001,B801200005001,2026-01-05,AM,A,,2026-01-05T08:40:00Z\n", 2,
                    "code", "not a DfE attendance code");
    expect_rejected(HEADER "100001,A801200005001,2026-01-05,AM,N,,2026-01-05T08:40:00Z\n", 2, "upn",
                    "check letter");
    expect_rejected(HEADER "10000A,B801200005001,2026-01-05,AM,N,,2026-01-05T08:40:00Z\n", 2, "urn",
                    "6 digits");
    expect_rejected(HEADER "100001,B801200005001,2026-02-30,AM,N,,2026-01-05T08:40:00Z\n", 2,
                    "date", "not a date");
    /* Half term, and the afternoon the school closes at noon. */
    expect_rejected(HEADER "100001,B801200005001,2026-02-17,AM,N,,2026-02-17T08:40:00Z\n", 2,
                    "session", "closed");
    expect_rejected(HEADER "100001,B801200005001,2026-03-27,PM,N,,2026-03-27T13:40:00Z\n", 2,
                    "session", "closed");
    expect_rejected(HEADER "100001,B801200005001,2026-01-10,AM,N,,2026-01-10T08:40:00Z\n", 2,
                    "date", "weekend");
    /* On roll until 31 January only; never on roll at all; unknown school. */
    expect_rejected(HEADER "100001,P207000016049,2026-02-02,AM,N,,2026-02-02T08:40:00Z\n", 2,
                    "date", "not on the school's roll");
    expect_rejected(HEADER "100001,B207000016049,2026-02-02,AM,N,,2026-02-02T08:40:00Z\n", 2, "upn",
                    "check letter");
    expect_rejected(HEADER "100002,P207000016049,2026-02-02,AM,N,,2026-02-02T08:40:00Z\n", 2, "upn",
                    "not on the school's roll");
    expect_rejected(HEADER "100009,B801200005001,2026-02-02,AM,N,,2026-02-02T08:40:00Z\n", 2, "urn",
                    "not known");
    expect_rejected(HEADER "100001,B801200005001,2026-01-05,AM,N,,yesterday\n", 2, "recorded_at",
                    "ISO 8601");
}

Test(ingest, good_rows_kept_around_a_bad_one)
{
    ts_http_resp_t r = post("/v1/marks", "text/csv",
                            HEADER "100001,B801200005001,2026-01-13,AM,/,,2026-01-13T08:40:00Z\n"
                                   "100001,B801200005001,2026-01-13,PM,Z9,,2026-01-13T13:40:00Z\n"
                                   "100001,B801200005001,2026-01-14,AM,/,,2026-01-14T08:40:00Z\n");
    cr_assert_eq(r.status, 200);
    cr_assert_eq(field(&r, "received"), 3);
    cr_assert_eq(field(&r, "accepted"), 2);
    cr_assert_not_null(rejected_at(&r, "line", 3, "code"), "%s", r.body);
    ts_http_resp_free(&r);
}

Test(ingest, broken_documents_store_nothing)
{
    long long before = redis_int("XLEN %s", "rc:log:{100001}");
    ts_http_resp_t r =
        post("/v1/marks", "text/csv",
             HEADER "100001,B801200005001,2026-01-15,AM,/,,2026-01-15T08:40:00Z\n"
                    "100001,B801200005001,\"2026-01-15,PM,/,,2026-01-15T13:40:00Z\n");
    cr_assert_eq(r.status, 400, "%s", r.body);
    cr_assert(strstr(json_string_value(json_object_get(r.json, "error")), "line 3"), "%s", r.body);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "text/csv",
             "urn,upn,date,sesion,code,minutes_late,recorded_at\n"
             "100001,B801200005001,2026-01-15,AM,/,,2026-01-15T08:40:00Z\n");
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "sesion"), "%s", r.body);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "text/csv", "urn,upn,date,code\n100001,B801200005001,2026-01-15,/\n");
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "session"), "the missing column is named: %s", r.body);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "application/json", "[{\"urn\": \"100001\",");
    cr_assert_eq(r.status, 400);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "application/json", "{\"urn\": \"100001\"}");
    cr_assert_eq(r.status, 400);
    ts_http_resp_free(&r);
    cr_assert_eq(redis_int("XLEN %s", "rc:log:{100001}"), before);
}

Test(ingest, limits_and_protocol_errors)
{
    char *big = malloc(70000);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    ts_http_resp_t r = post("/v1/marks", "text/csv", big); /* max_body is 64 KiB here */
    cr_assert_eq(r.status, 413, "%s", r.body);
    cr_assert(strstr(r.body, "65536"));
    ts_http_resp_free(&r);
    free(big);
    r = post("/v1/marks", "text/plain", HEADER);
    cr_assert_eq(r.status, 415);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "text/csv; charset=latin-1", HEADER);
    cr_assert_eq(r.status, 415);
    ts_http_resp_free(&r);
    r = post("/v1/marks", "text/csv; charset=utf-8",
             HEADER "100001,B801200005001,2026-01-16,AM,/,,2026-01-16T08:40:00Z\n");
    cr_assert_eq(r.status, 200);
    ts_http_resp_free(&r);
    r = request("GET", "/v1/marks", NULL, NULL, 0);
    cr_assert_eq(r.status, 405);
    ts_http_resp_free(&r);
    r = request("DELETE", "/healthz", NULL, NULL, 0);
    cr_assert_eq(r.status, 405);
    ts_http_resp_free(&r);
    r = request("GET", "/v2/marks", NULL, NULL, 0);
    cr_assert_eq(r.status, 404);
    ts_http_resp_free(&r);
    r = request("GET", "/healthz", NULL, NULL, 0);
    cr_assert_eq(r.status, 200);
    ts_http_resp_free(&r);
    r = request("GET", "/metrics", NULL, NULL, 0);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "rollcall_ingest_rows_accepted_total{kind=\"marks\"} 1"), "%s",
              r.body);
    cr_assert(strstr(r.body, "rollcall_ingest_requests_total{path=\"marks\",status=\"4xx\"}"));
    ts_http_resp_free(&r);
}

Test(ingest, slow_client_is_timed_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *partial = "POST /v1/marks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n";
    cr_assert_eq(write(fd, partial, strlen(partial)), (ssize_t)strlen(partial));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf); /* the server hangs up after http_timeout (1 s) */
    cr_assert_leq(n, 0, "expected the connection closed, got %zd bytes", n);
    close(fd);
    /* The service is still answering others. */
    ts_http_resp_t r = request("GET", "/healthz", NULL, NULL, 0);
    cr_assert_eq(r.status, 200);
    ts_http_resp_free(&r);
}

Test(ingest, reference_data_rows_checked)
{
    ts_http_resp_t r =
        post("/v1/pupils", "text/csv",
             "urn,upn,forename,surname,year_group,date_of_birth,on_roll_from,on_roll_to,"
             "sen,fsm,eal,cla,social_worker\n"
             "100009,B801200005001,Ann,Smith,4,2017-03-02,2025-09-01,,N,Y,N,N,N\n");
    cr_assert_eq(r.status, 422);
    cr_assert_not_null(rejected_at(&r, "line", 2, "urn"));
    ts_http_resp_free(&r);
    r = post("/v1/contacts", "text/csv",
             "upn,contact_id,name,relationship,parental_responsibility,mobile,email,priority\n"
             "B801200005001,c1,Mary Smith,mother,Y,07700 900123,mary@example.org,1\n"
             "P207000016049,c2,Joe Jones,father,Y,01931 712344,,1\n"
             "Q207000016049,c3,Jo Jones,carer,Y,,,1\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(field(&r, "accepted"), 1);
    cr_assert_not_null(rejected_at(&r, "line", 3, "mobile"), "a landline: %s", r.body);
    cr_assert_not_null(rejected_at(&r, "line", 4, "upn"), "%s", r.body);
    cr_assert_null(strstr(r.body, "07700"), "a phone number echoed back");
    ts_http_resp_free(&r);
    redisContext *c = ts_redis_connect(&redis);
    redisReply *v = redisCommand(c, "HGET rc:contacts:B801200005001 c1");
    cr_assert_eq(v->type, REDIS_REPLY_STRING);
    cr_assert(strstr(v->str, "+447700900123"), "stored in E.164: %s", v->str);
    freeReplyObject(v);
    redisFree(c);
}

Test(ingest, cases_and_clock)
{
    const char *fact = "[{\"urn\":\"100001\",\"upn\":\"B801200005001\",\"kind\":\"meeting_held\","
                       "\"date\":\"2026-01-20\",\"recorded_by\":\"attendance_officer\","
                       "\"recorded_at\":\"2026-01-20T15:00:00Z\"}]";
    ts_http_resp_t r = post("/v1/cases", "application/json", fact);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(field(&r, "accepted"), 1);
    ts_http_resp_free(&r);
    r = post("/v1/cases", "application/json", fact);
    cr_assert_eq(field(&r, "duplicates"), 1);
    ts_http_resp_free(&r);
    r = post("/v1/cases", "application/json",
             "[{\"urn\":\"100001\",\"upn\":\"B801200005001\",\"kind\":\"tea\","
             "\"date\":\"2026-01-20\",\"recorded_by\":\"attendance_officer\","
             "\"recorded_at\":\"2026-01-20T15:00:00Z\",\"note\":\"x\"}]");
    cr_assert_eq(r.status, 422);
    cr_assert_not_null(rejected_at(&r, "index", 0, "kind"));
    cr_assert_not_null(rejected_at(&r, "index", 0, "note"));
    ts_http_resp_free(&r);

    long long before = redis_int("XLEN %s", "rc:log:{100002}");
    r = post("/v1/clock", "application/json", "{\"now\":\"2026-01-05T09:30:00+00:00\"}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(field(&r, "schools"), 2);
    ts_http_resp_free(&r);
    cr_assert_eq(redis_int("XLEN %s", "rc:log:{100002}"), before + 1, "a tick in each log");
    r = post("/v1/clock", "application/json", "{\"now\":\"2026-01-05T09:00:00Z\"}");
    cr_assert_eq(r.status, 409, "the clock never goes back");
    ts_http_resp_free(&r);
    r = post("/v1/clock", "application/json", "{\"now\":\"soon\"}");
    cr_assert_eq(r.status, 400);
    ts_http_resp_free(&r);
}

/* ---- durability ---- */

Test(ingest, restart_of_ingest_loses_nothing)
{
    ts_http_resp_t r = post("/v1/marks", "text/csv",
                            HEADER "100001,B801200005001,2026-01-19,AM,/,,2026-01-19T08:40:00Z\n");
    cr_assert_eq(field(&r, "accepted"), 1);
    ts_http_resp_free(&r);
    cr_assert_eq(ts_proc_stop(&ingest, SIGKILL, 2000), 128 + SIGKILL);
    start_ingest();
    r = post("/v1/marks", "text/csv",
             HEADER "100001,B801200005001,2026-01-19,AM,/,,2026-01-19T08:40:00Z\n"
                    "100001,B801200005001,2026-01-19,PM,/,,2026-01-19T13:40:00Z\n");
    cr_assert_eq(field(&r, "accepted"), 1);
    cr_assert_eq(field(&r, "duplicates"), 1, "the first batch survived: %s", r.body);
    ts_http_resp_free(&r);
    cr_assert_eq(redis_int("GET %s", "rc:seq:{100001}"), 3 + 2);
}

Test(ingest, acknowledged_marks_survive_kill_9_of_redis)
{
    ts_http_resp_t r = post("/v1/marks", "text/csv",
                            HEADER "100001,B801200005001,2026-01-21,AM,G,,2026-01-21T08:40:00Z\n"
                                   "100001,B801200005001,2026-01-21,PM,G,,2026-01-21T13:40:00Z\n");
    cr_assert_eq(field(&r, "accepted"), 2);
    ts_http_resp_free(&r);
    ts_redis_kill9(&redis); /* right after the acknowledgement */
    ts_redis_restart(&redis);
    cr_assert_eq(redis_int("XLEN %s", "rc:log:{100001}"), 3 + 2);
    /* Ingest reconnects by itself and still knows both marks. */
    r = post("/v1/marks", "text/csv",
             HEADER "100001,B801200005001,2026-01-21,PM,G,,2026-01-21T13:40:00Z\n");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(field(&r, "duplicates"), 1);
    ts_http_resp_free(&r);
}

/* ---- a late subscriber, through the feed, against the real publisher ---- */

#include "common/feed.h"

typedef struct {
    uint64_t next; /* the sequence number expected next */
    size_t marks;  /* marks seen */
    int out_of_order;
} heard_t;

static rc_err_t hear(void *ctx, const wire_msg_t *msg)
{
    heard_t *h = ctx;
    if (msg->seq != h->next)
        h->out_of_order++;
    h->next = msg->seq + 1;
    h->marks += msg->kind == WIRE_MARK;
    return RC_OK;
}

static char *marks_csv(int day0, int days)
{
    size_t cap = 64 + (size_t)days * 2 * 80, len = 0;
    char *b = malloc(cap);
    len += (size_t)snprintf(b, cap, HEADER);
    /* Weekdays from Monday 5 January 2026 (before half term). */
    for (int d = day0; d < day0 + days; d++) {
        int week = d / 5, wd = d % 5;
        char date[RC_DATE_STRLEN];
        date_format(date_from_ymd(2026, 1, 5) + week * 7 + wd, date);
        for (int s = 0; s < 2; s++)
            len +=
                (size_t)snprintf(b + len, cap - len, "100001,B801200005001,%s,%s,/,,%sT%s:00:00Z\n",
                                 date, s ? "PM" : "AM", date, s ? "13" : "08");
    }
    return b;
}

Test(ingest, late_subscriber_catches_up_exactly)
{
    /* 25 school days (5 weeks from 5 Jan) before anyone listens. */
    char *first = marks_csv(0, 25);
    ts_http_resp_t r = post("/v1/marks", "text/csv", first);
    cr_assert_eq(field(&r, "accepted"), 50, "%s", r.body);
    ts_http_resp_free(&r);
    free(first);

    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", pub_port);
    void *late = zmq_socket(zctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(late, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_connect(late, ep), 0);
    redisContext *c = ts_redis_connect(&redis);
    heard_t h = {.next = 1};
    feed_t *feed = feed_new(c, late, hear, &h);
    cr_assert_eq(feed_follow(feed, "100001", 0), RC_OK);
    cr_assert_eq(feed_catch_up(feed), RC_OK);
    cr_assert_eq(h.marks, 50);
    cr_assert_eq(h.next, 3 + 50 + 1, "the 3 reference changes and 50 marks, in order");
    ts_sleep_ms(200);

    /* Five more weeks arrive live (the dates run on into February half term,
     * so some rows are refused; what is accepted must be heard). */
    char *second = marks_csv(25, 25);
    r = post("/v1/marks", "text/csv", second);
    json_int_t more = field(&r, "accepted");
    cr_assert_gt(more, 0, "%s", r.body);
    ts_http_resp_free(&r);
    free(second);
    for (int i = 0; i < 50 && h.marks < 50 + (size_t)more; i++) {
        zmq_pollitem_t it = {.socket = late, .events = ZMQ_POLLIN};
        zmq_poll(&it, 1, 100);
        feed_on_readable(feed);
        feed_check_tail(feed);
    }
    cr_assert_eq(h.marks, 50 + (size_t)more, "every accepted mark heard once");
    cr_assert_eq(h.out_of_order, 0);
    feed_destroy(&feed);
    zmq_close(late);
    redisFree(c);
}
