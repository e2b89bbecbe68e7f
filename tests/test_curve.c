/* test_curve.c - the links between services with a CURVE key (SPEC section
 * 7): ingest and rules started with curve_secret_file publish only to
 * clients holding that key, encrypted; a plain client and a client with
 * another key get nothing, the latter refused by the ZAP handler; rules,
 * holding the key, is let in by ingest and its own events reach a client. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "testsupport.h"

static ts_redis_t redis;
static ts_proc_t ingest, rules;
static int http_port, ingest_pub, rules_pub;
static char link_secret[41], link_public[41], dir[96];
static void *ctx;

/* read_key reads a 40-character Z85 key file. */
static void read_key(const char *path, char out[41])
{
    size_t n;
    char *text = ts_slurp(path, &n);
    cr_assert_geq(n, 40, "%s", path);
    memcpy(out, text, 40);
    out[40] = '\0';
    free(text);
}

static void setup(void)
{
    char cmd[300], path[160];
    ts_redis_start(&redis, 0);
    snprintf(cmd, sizeof cmd, "%s keygen '%s/link' >/dev/null", ts_binary("cli/rollcall"),
             redis.dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(path, sizeof path, "%s/link.key", redis.dir);
    read_key(path, link_secret);
    cr_assert_eq(zmq_curve_public(link_public, link_secret), 0);
    /* Every service started from here holds the deployment's link key. */
    setenv("ROLLCALL_CURVE_SECRET_FILE", path, 1);
    http_port = ts_free_port();
    ingest_pub = ts_free_port();
    rules_pub = ts_free_port();
    ts_start_ingest(&ingest, &redis, http_port, ingest_pub, NULL);
    snprintf(dir, sizeof dir, "%s/demo", redis.dir);
    ts_demo_data(dir);
    ts_demo_load(http_port, dir);
    ctx = zmq_ctx_new();
}

static void teardown(void)
{
    unsetenv("ROLLCALL_CURVE_SECRET_FILE");
    zmq_ctx_term(ctx);
    if (rules.pid > 0)
        cr_expect_eq(ts_proc_stop(&rules, SIGTERM, 5000), 0, "rules exited badly");
    cr_expect_eq(ts_proc_stop(&ingest, SIGTERM, 5000), 0, "ingest exited badly");
    ts_redis_stop(&redis);
}

TestSuite(curve, .init = setup, .fini = teardown, .timeout = 120);

typedef struct {
    void *sub, *mon;
} client_t;

/* client_open connects a SUB to port, subscribed to everything: with the
 * key pair (public, secret) as a CURVE client of the links' server key, or
 * plain when secret is NULL; a monitor reports its handshakes. */
static void client_open(client_t *c, int port, const char *public, const char *secret,
                        const char *name)
{
    char at[64], mon_at[64];
    int linger = 0;
    c->sub = zmq_socket(ctx, ZMQ_SUB);
    zmq_setsockopt(c->sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(c->sub, ZMQ_SUBSCRIBE, "", 0);
    if (secret) {
        cr_assert_eq(zmq_setsockopt(c->sub, ZMQ_CURVE_SERVERKEY, link_public, 40), 0);
        cr_assert_eq(zmq_setsockopt(c->sub, ZMQ_CURVE_PUBLICKEY, public, 40), 0);
        cr_assert_eq(zmq_setsockopt(c->sub, ZMQ_CURVE_SECRETKEY, secret, 40), 0);
    }
    snprintf(mon_at, sizeof mon_at, "inproc://mon-%s", name);
    cr_assert_eq(zmq_socket_monitor(c->sub, mon_at,
                                    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL),
                 0);
    c->mon = zmq_socket(ctx, ZMQ_PAIR);
    zmq_setsockopt(c->mon, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_connect(c->mon, mon_at), 0);
    snprintf(at, sizeof at, "tcp://127.0.0.1:%d", port);
    cr_assert_eq(zmq_connect(c->sub, at), 0);
}

static void client_close(client_t *c)
{
    zmq_close(c->mon);
    zmq_close(c->sub);
}

/* handshake returns the client's first handshake event within timeout_ms,
 * or 0 when there was none. */
static int handshake(client_t *c, int timeout_ms)
{
    zmq_pollitem_t it = {.socket = c->mon, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return 0;
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    zmq_msg_recv(&ev, c->mon, 0);
    zmq_msg_recv(&addr, c->mon, 0);
    uint16_t event;
    memcpy(&event, zmq_msg_data(&ev), sizeof event);
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
    return event;
}

/* received counts the messages (topic + body) c receives within ms, and
 * copies the first topic into first. */
static int received(client_t *c, int ms, char first[64])
{
    int n = 0, waited = 0;
    first[0] = '\0';
    while (waited < ms) {
        zmq_pollitem_t it = {.socket = c->sub, .events = ZMQ_POLLIN};
        if (zmq_poll(&it, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        char topic[64] = "";
        int len = zmq_recv(c->sub, topic, sizeof topic - 1, 0);
        int more = 0;
        size_t sz = sizeof more;
        zmq_getsockopt(c->sub, ZMQ_RCVMORE, &more, &sz);
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            zmq_msg_recv(&m, c->sub, 0);
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (len > 0 && !first[0])
            snprintf(first, 64, "%.*s", len < 63 ? len : 63, topic);
        n++;
    }
    return n;
}

static void post_absence(const char *date)
{
    char marks[256];
    int n = snprintf(marks, sizeof marks,
                     "urn,upn,date,session,code,minutes_late,recorded_at\n"
                     "100102,A909200225001,%s,AM,N,,%sT08:55:00+01:00\n",
                     date, date);
    ts_http_post(http_port, "/v1/marks", "text/csv", marks, (size_t)n);
}

Test(curve, ingest_publishes_only_to_holders_of_the_link_key)
{
    char other_public[41], other_secret[41], first[64];
    cr_assert_eq(zmq_curve_keypair(other_public, other_secret), 0);
    client_t keyed, plain, stranger;
    client_open(&keyed, ingest_pub, link_public, link_secret, "keyed");
    client_open(&plain, ingest_pub, NULL, NULL, "plain");
    client_open(&stranger, ingest_pub, other_public, other_secret, "stranger");
    cr_assert_eq(handshake(&keyed, 5000), ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "the link key is let in");
    cr_assert_eq(handshake(&stranger, 5000), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                 "another key is refused by the ZAP handler");
    int ev = handshake(&plain, 3000);
    cr_assert_neq(ev, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "a plain client gets no session");
    cr_assert(ts_proc_wait_log(&ingest, "\"zmq.link_refused\"", 5000), "the refusal is logged");
    ts_sleep_ms(300); /* the subscriptions reach ingest */

    post_absence("2026-09-02");
    cr_assert_geq(received(&keyed, 2000, first), 1, "the key holder gets the mark");
    cr_assert(strncmp(first, "mark.", 5) == 0, "as a mark: %s", first);
    cr_assert_eq(received(&plain, 500, first), 0, "nothing for a plain client");
    cr_assert_eq(received(&stranger, 500, first), 0, "nothing for another key");
    client_close(&keyed);
    client_close(&plain);
    client_close(&stranger);
}

Test(curve, rules_holding_the_key_is_let_in_and_its_events_flow)
{
    char first[64];
    ts_start_rules(&rules, &redis, "rules", ingest_pub, rules_pub, NULL);
    client_t keyed;
    client_open(&keyed, rules_pub, link_public, link_secret, "rules-keyed");
    cr_assert_eq(handshake(&keyed, 5000), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ts_sleep_ms(500); /* rules' own subscription to ingest is set up */
    ts_http_post(http_port, "/v1/clock", "application/json",
                 "{\"now\":\"2026-09-02T08:00:00+01:00\"}", 35);
    post_absence("2026-09-02");
    ts_http_post(http_port, "/v1/clock", "application/json",
                 "{\"now\":\"2026-09-02T09:30:00+01:00\"}", 35);
    cr_assert_geq(received(&keyed, 5000, first), 1, "rules' first-day alert arrives");
    cr_assert(strncmp(first, "pupil.909.100102.alert.", 23) == 0, "%s", first);
    client_close(&keyed);
    /* rules' SUB reached ingest's PUB as a link: the only client ingest saw. */
    cr_assert(ts_proc_wait_log(&ingest, "\"zmq.link_in\"", 2000), "ingest let rules in");
    cr_assert_not(ts_proc_wait_log(&ingest, "\"zmq.link_refused\"", 100), "and refused no one");
}
