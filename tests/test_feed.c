/* test_feed.c - the Clone subscriber against a real redis-server and real ZeroMQ PUB/SUB. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/feed.h"
#include "common/schoollog.h"
#include "rollcall/log.h"
#include "testsupport.h"

#define URN_A "100001"
#define URN_B "100002"
#define URN_C "100003"
#define URN_D "100004"
#define DAY   20703                     /* 2026-09-07 */
#define AT    INT64_C(1788766860000000) /* 2026-09-07T08:41:00+01:00 */
#define CHUNK 1000                      /* appends pipelined per round trip */

static ts_redis_t redis;
static redisContext *rc;
static void *zctx, *pub, *sub;
static char endpoint[64];
static feed_t *feed;

/* One message the consumer accepted. */
typedef struct {
    char urn[RC_URN_LEN + 1];
    uint64_t seq;
    wire_kind_t kind;
    char event_id[CODEC_ID_MAX + 1];
    char upn[RC_UPN_LEN + 1];
} got_t;

static struct {
    got_t *got;
    size_t n, cap;
    char fail_urn[RC_URN_LEN + 1]; /* refuse fail_seq of this school fail_times times */
    uint64_t fail_seq;
    int fail_times;
    int attempts; /* calls for fail_seq, refused or not */
    int reenter;  /* try feed_follow from inside the callback */
    rc_err_t reenter_err;
} consumer;

static rc_err_t consume(void *ctx, const wire_msg_t *msg)
{
    (void)ctx;
    if (consumer.fail_seq && msg->seq == consumer.fail_seq &&
        strcmp(msg->urn, consumer.fail_urn) == 0) {
        consumer.attempts++;
        if (consumer.fail_times > 0) {
            consumer.fail_times--;
            return RC_EIO;
        }
    }
    if (consumer.reenter)
        consumer.reenter_err = feed_follow(feed, "100009", 0);
    if (consumer.n == consumer.cap) {
        consumer.cap = consumer.cap ? consumer.cap * 2 : 1024;
        consumer.got = realloc(consumer.got, consumer.cap * sizeof consumer.got[0]);
        cr_assert_not_null(consumer.got);
    }
    got_t *g = &consumer.got[consumer.n++];
    memset(g, 0, sizeof *g);
    strcpy(g->urn, msg->urn);
    g->seq = msg->seq;
    g->kind = msg->kind;
    strcpy(g->event_id, msg->event_id);
    if (msg->kind == WIRE_MARK)
        strcpy(g->upn, msg->u.mark.upn);
    return RC_OK;
}

/* Stored positions, for feed_follow_all. */
static rc_err_t stored_position(void *ctx, const char *urn, uint64_t *position)
{
    (void)ctx;
    *position = strcmp(urn, URN_B) == 0 ? 10 : 0;
    return RC_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN); /* writes to a killed redis-server */
    ts_redis_start(&redis, 0);
    rc = ts_redis_connect(&redis);
    const char *why = NULL;
    cr_assert_eq(schoollog_install(rc, &why), RC_OK, "%s", why ? why : "");
    zctx = zmq_ctx_new();
    cr_assert_not_null(zctx);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ts_free_port());
}

static void close_socket(void **s)
{
    if (*s) {
        int linger = 0;
        zmq_setsockopt(*s, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(*s);
    }
    *s = NULL;
}

static void teardown(void)
{
    feed_destroy(&feed);
    close_socket(&sub);
    close_socket(&pub);
    if (zctx)
        zmq_ctx_term(zctx);
    zctx = NULL;
    if (rc)
        redisFree(rc);
    rc = NULL;
    ts_redis_stop(&redis);
    free(consumer.got);
    memset(&consumer, 0, sizeof consumer);
}

TestSuite(feed, .init = setup, .fini = teardown, .timeout = 30);

/* publisher binds what ingest would: an XPUB, so the test can see the
 * subscriptions arrive. hwm > 0 also shrinks the kernel buffers, so a slow
 * subscriber really loses messages. */
static void publisher(int hwm)
{
    pub = zmq_socket(zctx, ZMQ_XPUB);
    cr_assert_not_null(pub);
    if (hwm > 0) {
        int buf = 4096;
        cr_assert_eq(zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm), 0);
        cr_assert_eq(zmq_setsockopt(pub, ZMQ_SNDBUF, &buf, sizeof buf), 0);
    }
    cr_assert_eq(zmq_bind(pub, endpoint), 0, "bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
}

/* subscriber connects a SUB with no subscriptions and gives it to a feed. */
static void subscriber(int hwm)
{
    sub = zmq_socket(zctx, ZMQ_SUB);
    cr_assert_not_null(sub);
    if (hwm > 0) {
        int buf = 4096;
        cr_assert_eq(zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm), 0);
        cr_assert_eq(zmq_setsockopt(sub, ZMQ_RCVBUF, &buf, sizeof buf), 0);
    }
    cr_assert_eq(zmq_connect(sub, endpoint), 0);
    feed = feed_new(rc, sub, consume, NULL);
    cr_assert_not_null(feed);
}

/* wait_subscribed waits until the publisher has seen n subscriptions, so
 * nothing published after it is lost to the slow-joiner race. */
static void wait_subscribed(int n)
{
    int seen = 0;
    int64_t deadline = now_ms() + 5000;
    while (seen < n && now_ms() < deadline) {
        zmq_pollitem_t item = {.socket = pub, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 50) > 0) {
            char frame[CODEC_TOPIC_MAX];
            int len = zmq_recv(pub, frame, sizeof frame, 0);
            if (len > 0 && frame[0] == 1)
                seen++;
        }
    }
    cr_assert_eq(seen, n, "the publisher saw %d of %d subscriptions", seen, n);
}

/* mark_msg is the i-th mark (from 0) of school urn: in a fresh log, seq i + 1. */
static wire_msg_t mark_msg(const char *urn, uint64_t i)
{
    wire_msg_t m;
    char rest[16];
    codec_msg_init(&m, WIRE_MARK);
    strcpy(m.urn, urn);
    mark_t *k = &m.u.mark;
    strcpy(k->urn, urn);
    snprintf(rest, sizeof rest, "80120000%04u", (unsigned)(5000 + i % 1000));
    k->upn[0] = upn_check_letter(rest);
    memcpy(k->upn + 1, rest, 13);
    k->date = DAY + (rc_date_t)(i / 1000);
    k->session = SESSION_AM;
    k->code = CODE_PRESENT_AM;
    k->recorded_at = AT + (rc_time_t)i;
    codec_event_id_mark(k, m.event_id);
    return m;
}

static void send_frames(const char *topic, size_t tlen, const void *body, size_t blen, int more)
{
    cr_assert_eq(zmq_send(pub, topic, tlen, ZMQ_SNDMORE), (int)tlen);
    cr_assert_eq(zmq_send(pub, body, blen, more ? ZMQ_SNDMORE : 0), (int)blen);
}

/* publish sends msg live, as ingest does: [topic][Envelope]. */
static void publish(const wire_msg_t *msg)
{
    char topic[CODEC_TOPIC_MAX], why[CODEC_WHY_MAX] = "";
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(codec_topic(msg, topic), RC_OK);
    cr_assert_eq(codec_encode(msg, &buf, &len, why), RC_OK, "%s", why);
    send_frames(topic, strlen(topic), buf, len, 0);
    free(buf);
}

/* publish_again re-sends the mark already logged as urn's seq. */
static void publish_again(const char *urn, uint64_t seq)
{
    wire_msg_t m = mark_msg(urn, seq - 1);
    m.seq = seq;
    publish(&m);
}

typedef int (*live_fn)(uint64_t seq);

static int none_live(uint64_t seq)
{
    (void)seq;
    return 0;
}

/* append_marks does what ingest does for count new marks of urn: append
 * each to the log (pipelined, CHUNK per round trip), then publish those
 * live(seq) lets through (all when live is NULL) with the seq set. */
static void append_marks(const char *urn, size_t count, live_fn live)
{
    uint64_t next;
    cr_assert_eq(schoollog_last_seq(rc, urn, &next), RC_OK);
    for (size_t done = 0; done < count;) {
        size_t n = count - done < CHUNK ? count - done : CHUNK;
        for (size_t k = 0; k < n; k++) {
            wire_msg_t m = mark_msg(urn, next + k);
            uint8_t *buf = NULL;
            size_t len = 0;
            cr_assert_eq(codec_encode(&m, &buf, &len, NULL), RC_OK);
            cr_assert_eq(schoollog_queue_mark(rc, &m.u.mark, buf, len), RC_OK);
            free(buf);
        }
        for (size_t k = 0; k < n; k++) {
            schoollog_result_t res;
            const char *why = NULL;
            cr_assert_eq(schoollog_collect(rc, &res, &why), RC_OK, "%s", why ? why : "");
            cr_assert_eq(res.status, SCHOOLLOG_APPENDED);
            cr_assert_eq(res.seq, next + k + 1);
            if (!live || live(res.seq)) {
                wire_msg_t m = mark_msg(urn, next + k);
                m.seq = res.seq;
                publish(&m);
            }
        }
        next += n;
        done += n;
    }
}

/* pump plays the service's loop: poll the SUB, feed_on_readable, and
 * feed_check_tail every tail_ms (0 = never), until the consumer holds
 * target messages or timeout_ms passes. Returns the first error, which
 * ends it. */
static rc_err_t pump(size_t target, int timeout_ms, int tail_ms)
{
    int64_t start_at = now_ms(), tail_at = start_at + tail_ms;
    while (consumer.n < target && now_ms() - start_at < timeout_ms) {
        zmq_pollitem_t item = {.socket = sub, .events = ZMQ_POLLIN};
        int ready = zmq_poll(&item, 1, 10);
        cr_assert_geq(ready, 0);
        if (ready > 0) {
            rc_err_t err = feed_on_readable(feed);
            if (err != RC_OK)
                return err;
        }
        if (tail_ms > 0 && now_ms() >= tail_at) {
            rc_err_t err = feed_check_tail(feed);
            if (err != RC_OK)
                return err;
            tail_at = now_ms() + tail_ms;
        }
    }
    return RC_OK;
}

/* settle pumps a while longer, so anything delivered twice would show. */
static void settle(void)
{
    cr_assert_eq(pump(SIZE_MAX, 200, 0), RC_OK);
}

/* assert_school checks the consumer got urn's seqs first..last, each once,
 * in order, each the mark published with it. */
static void assert_school(const char *urn, uint64_t first, uint64_t last)
{
    uint64_t want = first;
    for (size_t i = 0; i < consumer.n; i++) {
        const got_t *g = &consumer.got[i];
        if (strcmp(g->urn, urn) != 0)
            continue;
        cr_assert_eq(g->seq, want, "school %s: message %zu has seq %llu, want %llu", urn, i,
                     (unsigned long long)g->seq, (unsigned long long)want);
        wire_msg_t m = mark_msg(urn, want - 1);
        cr_assert_eq(g->kind, WIRE_MARK);
        cr_assert_str_eq(g->event_id, m.event_id, "school %s seq %llu", urn,
                         (unsigned long long)want);
        cr_assert_str_eq(g->upn, m.u.mark.upn);
        want++;
    }
    cr_assert_eq(want, last + 1, "school %s: got up to seq %llu, want %llu", urn,
                 (unsigned long long)want - 1, (unsigned long long)last);
}

static uint64_t position(const char *urn)
{
    uint64_t p = UINT64_MAX;
    cr_assert_eq(feed_position(feed, urn, &p), RC_OK);
    return p;
}

static feed_stats_t stats(void)
{
    feed_stats_t s;
    feed_stats(feed, &s);
    return s;
}

Test(feed, live_messages_arrive_once_in_order)
{
    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    cr_assert_eq(feed_catch_up(feed), RC_OK);
    cr_assert_eq(consumer.n, 0);

    append_marks(URN_A, 200, NULL);
    cr_assert_eq(pump(200, 5000, 0), RC_OK);
    settle();
    cr_assert_eq(consumer.n, 200);
    assert_school(URN_A, 1, 200);
    cr_assert_eq(position(URN_A), 200);
    feed_stats_t st = stats();
    cr_assert_eq(st.delivered, 200);
    cr_assert_eq(st.from_log, 0, "all 200 came live");
    cr_assert_eq(st.gaps, 0);
    cr_assert_eq(st.duplicates, 0);
    cr_assert_eq(st.bad, 0);
}

Test(feed, late_subscriber_catches_up_from_the_log_then_goes_live)
{
    publisher(0);
    append_marks(URN_A, 500, NULL); /* nobody listening */
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    cr_assert_eq(feed_catch_up(feed), RC_OK);
    cr_assert_eq(consumer.n, 500);
    assert_school(URN_A, 1, 500);
    cr_assert_eq(stats().from_log, 500);

    append_marks(URN_A, 100, NULL);
    cr_assert_eq(pump(600, 5000, 0), RC_OK);
    settle();
    cr_assert_eq(consumer.n, 600);
    assert_school(URN_A, 1, 600);
    feed_stats_t st = stats();
    cr_assert_eq(st.delivered, 600);
    cr_assert_eq(st.from_log, 500);
    cr_assert_eq(st.gaps, 0);
}

/* Lost live: every 7th, and 201..250; 400, the last, gets through. */
static int gappy(uint64_t seq)
{
    return seq == 400 || !(seq % 7 == 0 || (seq >= 201 && seq <= 250));
}

Test(feed, gaps_in_the_live_path_are_filled_from_the_log)
{
    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    uint64_t skipped = 0, gaps = 0;
    for (uint64_t seq = 1; seq <= 400; seq++) {
        append_marks(URN_A, 1, gappy);
        if (!gappy(seq)) {
            skipped++;
            continue;
        }
        if (seq > 1 && !gappy(seq - 1))
            gaps++;
        /* Wait for it, so each gap is seen by the next live message. */
        cr_assert_eq(pump(seq, 3000, 0), RC_OK);
        cr_assert_eq(consumer.n, seq, "seq %llu not delivered", (unsigned long long)seq);
    }
    settle();
    assert_school(URN_A, 1, 400);
    feed_stats_t st = stats();
    cr_assert_gt(gaps, 50);
    cr_assert_eq(st.gaps, gaps);
    /* Each gap's catch-up read the lost run and the live message after it. */
    cr_assert_eq(st.from_log, skipped + gaps);
    cr_assert_eq(st.delivered, 400);
    cr_assert_eq(st.tail_behind, 0);
}

static int tail_lost(uint64_t seq)
{
    return seq <= 90;
}

Test(feed, lost_tail_is_recovered_by_check_tail)
{
    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    append_marks(URN_A, 100, tail_lost);
    cr_assert_eq(pump(90, 5000, 0), RC_OK);
    settle();
    cr_assert_eq(consumer.n, 90, "nothing after 90 reveals the gap");
    cr_assert_eq(stats().gaps, 0);

    cr_assert_eq(feed_check_tail(feed), RC_OK);
    cr_assert_eq(consumer.n, 100);
    assert_school(URN_A, 1, 100);
    feed_stats_t st = stats();
    cr_assert_eq(st.tail_behind, 1);
    cr_assert_eq(st.from_log, 10);

    cr_assert_eq(feed_check_tail(feed), RC_OK); /* nothing behind now */
    cr_assert_eq(stats().tail_behind, 1);
    cr_assert_eq(consumer.n, 100);
}

Test(feed, lagging_subscriber_loses_live_messages_but_not_events)
{
    publisher(10);
    subscriber(10);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    int64_t t0 = now_ms();
    append_marks(URN_A, 20000, NULL); /* the subscriber is not reading */
    int64_t t1 = now_ms();
    cr_assert_eq(pump(20000, 10000, 250), RC_OK);
    int64_t t2 = now_ms();
    settle();
    cr_assert_eq(consumer.n, 20000);
    assert_school(URN_A, 1, 20000);
    feed_stats_t st = stats();
    cr_log_info("20000 marks: appended and published in %lld ms, delivered in %lld ms; "
                "%llu live, %llu from the log, %llu gaps, %llu duplicates, %llu tails",
                (long long)(t1 - t0), (long long)(t2 - t1),
                (unsigned long long)(st.delivered - st.from_log), (unsigned long long)st.from_log,
                (unsigned long long)st.gaps, (unsigned long long)st.duplicates,
                (unsigned long long)st.tail_behind);
    cr_assert_eq(st.delivered, 20000);
    cr_assert_geq(st.gaps, 1, "the live path dropped nothing: the test proves nothing");
    cr_assert_gt(st.from_log, 10000, "most should have been lost live");
}

Test(feed, resumes_after_a_stored_position)
{
    publisher(0);
    append_marks(URN_A, 400, NULL);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 300), RC_OK);
    cr_assert_eq(position(URN_A), 300);
    wait_subscribed(4);
    cr_assert_eq(feed_catch_up(feed), RC_OK);
    cr_assert_eq(consumer.n, 100);
    cr_assert_eq(consumer.got[0].seq, 301);
    append_marks(URN_A, 10, NULL);
    cr_assert_eq(pump(110, 5000, 0), RC_OK);
    settle();
    assert_school(URN_A, 301, 410);
}

Test(feed, duplicate_live_message_is_delivered_once)
{
    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    append_marks(URN_A, 5, NULL);
    publish_again(URN_A, 5);
    publish_again(URN_A, 3);
    append_marks(URN_A, 5, NULL);
    cr_assert_eq(pump(10, 5000, 0), RC_OK);
    settle();
    cr_assert_eq(consumer.n, 10);
    assert_school(URN_A, 1, 10);
    feed_stats_t st = stats();
    cr_assert_eq(st.duplicates, 2);
    cr_assert_eq(st.gaps, 0);
}

Test(feed, refused_message_keeps_the_position_and_comes_again)
{
    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    strcpy(consumer.fail_urn, URN_A);
    consumer.fail_seq = 5;
    consumer.fail_times = 1;
    append_marks(URN_A, 10, NULL);

    cr_assert_eq(pump(SIZE_MAX, 3000, 0), RC_EIO, "the consumer's error comes back");
    cr_assert_eq(consumer.n, 4);
    cr_assert_eq(position(URN_A), 4);
    settle(); /* 6..10 show a gap, but the school waits for a retry */
    cr_assert_eq(consumer.n, 4);
    cr_assert_eq(position(URN_A), 4);
    feed_stats_t st = stats();
    cr_assert_eq(st.refused, 1);
    cr_assert_eq(st.held, 5);
    cr_assert_eq(st.from_log, 0);

    cr_assert_eq(feed_catch_up(feed), RC_OK);
    cr_assert_eq(consumer.attempts, 2);
    cr_assert_eq(consumer.n, 10);
    assert_school(URN_A, 1, 10);
    cr_assert_eq(position(URN_A), 10);
    cr_assert_eq(stats().from_log, 6);
}

Test(feed, refusal_during_catch_up_stops_and_is_retried_by_check_tail)
{
    publisher(0);
    append_marks(URN_A, 700, NULL);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    strcpy(consumer.fail_urn, URN_A);
    consumer.fail_seq = 600; /* in the second batch of FEED_BATCH */
    consumer.fail_times = 2;
    cr_assert_eq(feed_catch_up(feed), RC_EIO);
    cr_assert_eq(position(URN_A), 599);
    cr_assert_eq(feed_check_tail(feed), RC_EIO);
    cr_assert_eq(position(URN_A), 599);
    cr_assert_eq(feed_check_tail(feed), RC_OK);
    cr_assert_eq(position(URN_A), 700);
    assert_school(URN_A, 1, 700);
    cr_assert_eq(consumer.attempts, 3);
}

/* logged counts the lines of path holding needle. */
static int logged(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[LOG_LINE_MAX];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

Test(feed, garbage_is_skipped_with_a_warning)
{
    char path[96];
    snprintf(path, sizeof path, "%s/feed.log", redis.dir);
    FILE *sink = fopen(path, "w");
    cr_assert_not_null(sink);
    cr_assert_eq(log_open("test", LOG_LEVEL_WARN, LOG_FORMAT_JSON, fileno(sink), NULL), RC_OK);

    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    append_marks(URN_A, 3, NULL);

    const char *topic = "mark." URN_A ".";
    send_frames(topic, strlen(topic), "not protobuf", 12, 0);
    cr_assert_eq(zmq_send(pub, topic, strlen(topic), 0), (int)strlen(topic)); /* one frame */
    wire_msg_t m = mark_msg(URN_A, 3);
    m.seq = 4;
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(codec_encode(&m, &buf, &len, NULL), RC_OK);
    send_frames(topic, strlen(topic), buf, len, 1); /* three frames */
    cr_assert_eq(zmq_send(pub, "x", 1, 0), 1);
    const char *other = "mark." URN_A ".x";
    send_frames(other, strlen(other), buf, len, 0); /* topic does not match */
    free(buf);
    wire_msg_t tick;
    codec_msg_init(&tick, WIRE_TICK);
    strcpy(tick.event_id, "tick-1");
    strcpy(tick.urn, URN_A);
    tick.u.tick.now = AT;
    tick.u.tick.utc_offset_s = 3600;
    tick.seq = 4;
    cr_assert_eq(codec_encode(&tick, &buf, &len, NULL), RC_OK);
    send_frames(topic, strlen(topic), buf, len, 0); /* a tick on the mark topic */
    free(buf);
    tick.seq = 0;
    publish(&tick); /* on its own topic, but with no seq */

    append_marks(URN_A, 3, NULL);
    cr_assert_eq(pump(6, 5000, 0), RC_OK);
    settle();
    cr_assert_eq(consumer.n, 6);
    assert_school(URN_A, 1, 6);
    feed_stats_t st = stats();
    cr_assert_eq(st.bad, 6);
    cr_assert_eq(st.gaps, 0);
    cr_assert_eq(logged(path, "\"feed.bad_message\""), 6);
    cr_assert_eq(logged(path, "B801200005001"), 0);
    log_close();
    fclose(sink);
}

/* School B loses every 5th live message but its 200th. */
static int b_live(uint64_t seq)
{
    return seq % 5 != 0 || seq == 200;
}

Test(feed, schools_have_independent_sequences)
{
    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    cr_assert_eq(feed_follow(feed, URN_B, 0), RC_OK);
    wait_subscribed(8);
    size_t appended = 0, pending = 0;
    uint64_t skipped = 0, gaps = 0;
    for (uint64_t seq = 1; seq <= 200; seq++) {
        append_marks(URN_A, 1, NULL);
        appended++;
        append_marks(URN_B, 1, b_live);
        appended++;
        if (!b_live(seq)) {
            skipped++;
            pending++;
        } else {
            gaps += pending > 0;
            pending = 0;
        }
        cr_assert_eq(pump(appended - pending, 3000, 0), RC_OK);
        cr_assert_eq(consumer.n, appended - pending);
    }
    settle();
    cr_assert_eq(consumer.n, 400);
    assert_school(URN_A, 1, 200);
    assert_school(URN_B, 1, 200);
    feed_stats_t st = stats();
    cr_assert_eq(st.gaps, gaps);
    cr_assert_eq(gaps, 39);
    cr_assert_eq(st.from_log, skipped + gaps, "only B's messages came from the log");
    cr_assert_eq(st.delivered, 400);
}

Test(feed, follow_all_finds_schools_live_and_in_redis)
{
    publisher(0);
    append_marks(URN_A, 20, NULL); /* before the subscriber */
    append_marks(URN_B, 30, NULL); /* stored position 10 */
    subscriber(0);
    cr_assert_eq(feed_follow_all(feed, stored_position), RC_OK);
    cr_assert_eq(feed_follow_all(feed, stored_position), RC_ESTATE);
    wait_subscribed(4);
    uint64_t p;
    cr_assert_eq(feed_position(feed, URN_A, &p), RC_ENOTFOUND);
    cr_assert_eq(feed_catch_up(feed), RC_OK);
    cr_assert_eq(consumer.n, 20 + 20);
    assert_school(URN_A, 1, 20);
    assert_school(URN_B, 11, 30);
    cr_assert_eq(stats().discovered, 2);

    append_marks(URN_C, 5, NULL); /* a new school, seen live */
    cr_assert_eq(pump(45, 5000, 0), RC_OK);
    assert_school(URN_C, 1, 5);
    cr_assert_eq(stats().discovered, 3);
    cr_assert_eq(stats().from_log, 40, "C's first message started it at 1, live");

    append_marks(URN_D, 3, none_live); /* a new school whose live messages are all lost */
    cr_assert_eq(feed_check_tail(feed), RC_OK);
    cr_assert_eq(consumer.n, 45, "check_tail only looks at followed schools");
    cr_assert_eq(feed_catch_up(feed), RC_OK);
    cr_assert_eq(consumer.n, 48);
    assert_school(URN_D, 1, 3);
    cr_assert_eq(stats().discovered, 4);

    wire_msg_t tick; /* the replay clock for no school in particular */
    codec_msg_init(&tick, WIRE_TICK);
    strcpy(tick.event_id, "tick-1");
    tick.seq = 1;
    tick.u.tick.now = AT;
    publish(&tick);
    append_marks(URN_A, 5, NULL);
    cr_assert_eq(pump(53, 5000, 0), RC_OK);
    settle();
    assert_school(URN_A, 1, 25);
    cr_assert_eq(consumer.n, 53);
    cr_assert_eq(stats().unknown, 1);
}

Test(feed, redis_failure_returns_eio_and_keeps_positions)
{
    /* Again with AOF, so the log survives kill -9. */
    redisFree(rc);
    ts_redis_stop(&redis);
    ts_redis_start(&redis, 1);
    rc = ts_redis_connect(&redis);
    cr_assert_eq(schoollog_install(rc, NULL), RC_OK);
    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    wait_subscribed(4);
    append_marks(URN_A, 10, NULL);
    cr_assert_eq(pump(10, 5000, 0), RC_OK);
    append_marks(URN_A, 7, none_live); /* 11..17 */

    ts_redis_kill9(&redis);
    cr_assert_eq(feed_check_tail(feed), RC_EIO);
    cr_assert_eq(position(URN_A), 10);
    publish_again(URN_A, 17); /* the gap shows, but the log cannot be read */
    cr_assert_eq(pump(SIZE_MAX, 3000, 0), RC_EIO);
    cr_assert_eq(position(URN_A), 10);
    publish_again(URN_A, 17); /* held: no second try from the live path */
    settle();
    feed_stats_t st = stats();
    cr_assert_eq(st.gaps, 2);
    cr_assert_eq(st.held, 1);
    cr_assert_eq(consumer.n, 10);
    cr_assert_eq(feed_catch_up(feed), RC_EIO);

    ts_redis_restart(&redis);
    redisFree(rc);
    rc = ts_redis_connect(&redis);
    feed_set_redis(feed, rc);
    cr_assert_eq(feed_check_tail(feed), RC_OK);
    cr_assert_eq(consumer.n, 17);
    assert_school(URN_A, 1, 17);
}

Test(feed, bad_log_entry_holds_only_its_school)
{
    publisher(0);
    subscriber(0);
    cr_assert_eq(feed_follow(feed, URN_A, 0), RC_OK);
    cr_assert_eq(feed_follow(feed, URN_B, 0), RC_OK);
    append_marks(URN_A, 3, none_live);
    schoollog_result_t res;
    cr_assert_eq(schoollog_queue_event(rc, URN_A, (const uint8_t *)"junk", 4), RC_OK);
    cr_assert_eq(schoollog_collect(rc, &res, NULL), RC_OK);
    cr_assert_eq(res.seq, 4);
    append_marks(URN_B, 5, none_live);

    cr_assert_eq(feed_catch_up(feed), RC_EPARSE);
    cr_assert_eq(position(URN_A), 3, "never skipped: the entry stays undelivered");
    cr_assert_eq(position(URN_B), 5, "the other school caught up");
    assert_school(URN_A, 1, 3);
    assert_school(URN_B, 1, 5);
    cr_assert_eq(feed_check_tail(feed), RC_EPARSE);
    cr_assert_eq(position(URN_A), 3);
}

Test(feed, follow_checks_its_arguments)
{
    publisher(0);
    subscriber(0);
    uint64_t p;
    cr_assert_eq(feed_follow(feed, "10001", 0), RC_EINVAL);
    cr_assert_eq(feed_follow(feed, "10000a", 0), RC_EINVAL);
    cr_assert_eq(feed_follow(feed, NULL, 0), RC_EINVAL);
    cr_assert_eq(feed_follow(feed, URN_B, 7), RC_OK);
    cr_assert_eq(feed_follow(feed, URN_A, 3), RC_OK);
    cr_assert_eq(feed_follow(feed, URN_B, 0), RC_ESTATE);
    cr_assert_eq(feed_position(feed, URN_B, &p), RC_OK);
    cr_assert_eq(p, 7);
    cr_assert_eq(feed_position(feed, URN_A, &p), RC_OK);
    cr_assert_eq(p, 3);
    cr_assert_eq(feed_position(feed, URN_C, &p), RC_ENOTFOUND);
    wait_subscribed(8);

    /* The consumer may not call back into the feed. */
    consumer.reenter = 1;
    append_marks(URN_A, 4, none_live);
    cr_assert_eq(feed_catch_up(feed), RC_OK);
    cr_assert_eq(consumer.reenter_err, RC_ESTATE);
    cr_assert_eq(feed_position(feed, "100009", &p), RC_ENOTFOUND);
    cr_assert_eq(position(URN_A), 4);

    feed_destroy(&feed);
    cr_assert_null(feed);
    feed_destroy(&feed); /* harmless */
}
