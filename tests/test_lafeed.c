/* test_lafeed.c - the LA referral feed (docs/la-feed.md): a generated school
 * year through the real ingest, rules and reports; CURVE clients with a
 * known key, a key of another LA and an unknown key; `rollcall subscribe`
 * killed and restarted; reports killed and restarted. Plus the clients file
 * and the subscriber's state file as units. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "reports/lafeed.h"
#include "rollcall/codec.h"
#include "subscribe.h"
#include "testsupport.h"

#define MAX_REFS 512

static ts_redis_t redis;
static ts_proc_t ingest, rules, reports;
static int http_port, ingest_pub, rules_pub, la_pub, la_replay;
static char keys[128], year_dir[128], pub_at[64], replay_at[64];

/* ---- keys and processes ---- */

static void keygen(const char *name)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "%s keygen '%s/%s' >/dev/null", ts_binary("cli/rollcall"), keys,
             name);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void key_path(const char *name, const char *ext, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.%s", keys, name, ext);
}

static void read_key(const char *name, const char *ext, char out[41])
{
    char path[200], err[SUBSCRIBE_ERR_MAX];
    key_path(name, ext, path, sizeof path);
    cr_assert_eq(subscribe_key_read(path, out, err), RC_OK, "%s", err);
}

/* start_reports starts reports with the LA feed on CURVE (its HTTP API, on
 * any free port, unused here). */
static void start_reports(void)
{
    char secret[200], clients[200];
    key_path("server", "key", secret, sizeof secret);
    snprintf(clients, sizeof clients, "%s/clients", keys);
    ts_start_reports(&reports, &redis, 0, rules_pub, NULL, "--la-pub-endpoint", pub_at,
                     "--la-replay-endpoint", replay_at, "--la-curve-secret-file", secret,
                     "--la-clients-file", clients, NULL);
}

static void setup(void)
{
    ts_redis_start(&redis, 1);
    http_port = ts_free_port();
    ingest_pub = ts_free_port();
    rules_pub = ts_free_port();
    la_pub = ts_free_port();
    la_replay = ts_free_port();
    snprintf(pub_at, sizeof pub_at, "tcp://127.0.0.1:%d", la_pub);
    snprintf(replay_at, sizeof replay_at, "tcp://127.0.0.1:%d", la_replay);
    ts_start_ingest(&ingest, &redis, http_port, ingest_pub, NULL);
    ts_start_rules(&rules, &redis, "rules", ingest_pub, rules_pub, NULL);

    snprintf(keys, sizeof keys, "%s/keys", redis.dir);
    cr_assert_eq(mkdir(keys, 0700), 0);
    const char *names[] = {"server", "la909", "la910", "stranger"};
    for (int i = 0; i < 4; i++)
        keygen(names[i]);
    char k909[41], k910[41], path[200];
    read_key("la909", "pub", k909);
    read_key("la910", "pub", k910);
    snprintf(path, sizeof path, "%s/clients", keys);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "# LA subscribers\n%s 909 la909-test\n\n%s 910 la910-test\n", k909, k910);
    fclose(f);

    snprintf(year_dir, sizeof year_dir, "%s/year", redis.dir);
    ts_gen_year(year_dir, NULL);
}

static void stop(ts_proc_t *p, const char *name)
{
    if (p->pid <= 0)
        return;
    int status = ts_proc_stop(p, SIGTERM, 5000);
    if (status != 0) { /* under ASan: the report is in its log */
        char cmd[200];
        snprintf(cmd, sizeof cmd, "grep -v '\"level\"' '%s' | head -n 40 >&2", p->log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
    }
    cr_expect_eq(status, 0, "%s exited with %d", name, status);
    p->pid = 0;
}

static void teardown(void)
{
    stop(&reports, "reports");
    stop(&rules, "rules");
    stop(&ingest, "ingest");
    ts_redis_stop(&redis);
}

TestSuite(lafeed, .init = setup, .fini = teardown, .timeout = 240);

/* spawn runs argv with stdout to out (appended to, when append) and stderr
 * to err, dying with us. */
static pid_t spawn(char *const argv[], const char *out, const char *err, int append)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int o = open(out, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* load_year sends the generated year through the real CLI: reference data,
 * then the register with its clock. In the background when bg (returns the
 * pid), else waits (returns 0). */
static pid_t load_year(int bg)
{
    if (!bg) {
        ts_load_year(http_port, year_dir);
        return 0;
    }
    char cmd[2048], out[200];
    ts_load_year_cmd(http_port, year_dir, cmd, sizeof cmd);
    snprintf(out, sizeof out, "%s/load.log", redis.dir);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return spawn(argv, out, out, 0);
}

static void wait_pid_ok(pid_t pid, int timeout_ms)
{
    int status = -1;
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        ts_sleep_ms(50);
    }
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the year's load failed");
}

/* string_of GETs key; "" when absent. */
static void string_of(redisContext *c, const char *key, char *out, size_t cap)
{
    redisReply *r = redisCommand(c, "GET %s", key);
    cr_assert(r);
    snprintf(out, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
}

/* wait_done waits until rules has applied every school's log and reports
 * has taken every school's outbox. */
static void wait_done(int timeout_ms)
{
    redisContext *c = ts_redis_connect(&redis);
    int done = 0;
    for (int waited = 0; !done && waited < timeout_ms; waited += 100) {
        redisReply *u = redisCommand(c, "SMEMBERS rc:la:909");
        done = u && u->elements == 3;
        for (size_t i = 0; done && i < u->elements; i++) {
            const char *urn = u->element[i]->str;
            char key[64], seq[32], pos[32], out[32], taken[32];
            snprintf(key, sizeof key, "rc:seq:{%s}", urn);
            string_of(c, key, seq, sizeof seq);
            redisReply *b = redisCommand(c, "HGET rs:school:{%s} pos", urn);
            snprintf(pos, sizeof pos, "%s", b && b->type == REDIS_REPLY_STRING ? b->str : "");
            freeReplyObject(b);
            snprintf(key, sizeof key, "rs:out:{%s}", urn);
            string_of(c, key, out, sizeof out);
            snprintf(key, sizeof key, "rp:pos:{%s}", urn);
            string_of(c, key, taken, sizeof taken);
            done = seq[0] && strcmp(seq, pos) == 0 && out[0] && strcmp(out, taken) == 0;
        }
        freeReplyObject(u);
        if (!done)
            ts_sleep_ms(100);
    }
    redisFree(c);
    cr_assert(done, "rules and reports did not catch up within %d ms", timeout_ms);
}

/* ---- what should be there ---- */

typedef struct {
    char urn[RC_URN_LEN + 1];
    char upn[RC_UPN_LEN + 1];
    char kind[CODEC_NAME_MAX + 1];
    char event_id[CODEC_ID_MAX + 1];
} ref_t;

static int cmp_ref(const void *a, const void *b)
{
    return strcmp(((const ref_t *)a)->event_id, ((const ref_t *)b)->event_id);
}

/* outbox_referrals decodes every 909 school's outbox and collects its
 * referrals, sorted by event id; returns how many. */
static size_t outbox_referrals(ref_t *out)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *u = redisCommand(c, "SMEMBERS rc:la:909");
    size_t n = 0;
    for (size_t i = 0; i < u->elements; i++) {
        redisReply *r = redisCommand(c, "XRANGE rs:outbox:{%s} - +", u->element[i]->str);
        cr_assert(r && r->type == REDIS_REPLY_ARRAY);
        for (size_t k = 0; k < r->elements; k++) {
            redisReply *kv = r->element[k]->element[1];
            wire_msg_t m;
            cr_assert_eq(kv->element[0]->str[0], 'e');
            cr_assert_eq(
                codec_decode((const uint8_t *)kv->element[1]->str, kv->element[1]->len, &m, NULL),
                RC_OK);
            if (m.kind != WIRE_PUPIL_EVENT || m.u.event.kind != EVENT_REFERRAL)
                continue;
            cr_assert_lt(n, MAX_REFS);
            cr_assert_str_eq(m.u.event.la_code, "909");
            snprintf(out[n].urn, sizeof out[n].urn, "%s", m.urn);
            snprintf(out[n].upn, sizeof out[n].upn, "%s", m.u.event.upn);
            snprintf(out[n].kind, sizeof out[n].kind, "%s", referral_kind_name(m.u.event.referral));
            snprintf(out[n].event_id, sizeof out[n].event_id, "%s", m.event_id);
            n++;
        }
        freeReplyObject(r);
    }
    freeReplyObject(u);
    redisFree(c);
    qsort(out, n, sizeof *out, cmp_ref);
    return n;
}

/* log_event_ids reads rp:ref:{909}, checking its ids are 1..n in order, and
 * returns n with each entry's event id at ids[id - 1]. */
static size_t log_entries(ref_t *out)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, "XRANGE rp:ref:{909} - +");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY);
    size_t n = r->elements;
    cr_assert_leq(n, MAX_REFS);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "%zu-0", i + 1);
        cr_assert_str_eq(r->element[i]->element[0]->str, want, "the log's ids have a gap");
        redisReply *kv = r->element[i]->element[1];
        memset(&out[i], 0, sizeof out[i]);
        for (size_t k = 0; k + 1 < kv->elements; k += 2) {
            const char *f = kv->element[k]->str, *v = kv->element[k + 1]->str;
            if (!strcmp(f, "urn"))
                snprintf(out[i].urn, sizeof out[i].urn, "%s", v);
            else if (!strcmp(f, "upn"))
                snprintf(out[i].upn, sizeof out[i].upn, "%s", v);
            else if (!strcmp(f, "kind"))
                snprintf(out[i].kind, sizeof out[i].kind, "%s", v);
            else if (!strcmp(f, "event_id"))
                snprintf(out[i].event_id, sizeof out[i].event_id, "%s", v);
        }
    }
    freeReplyObject(r);
    redisFree(c);
    return n;
}

/* check_log asserts the log holds exactly the outboxes' referrals, each
 * once, and returns them in log order. */
static size_t check_log(ref_t *logged)
{
    static ref_t want[MAX_REFS], sorted[MAX_REFS];
    size_t nw = outbox_referrals(want);
    size_t nl = log_entries(logged);
    cr_assert_geq(nw, 15, "the year raises at least 5 referrals in each of 3 schools (%zu)", nw);
    cr_assert_eq(nl, nw, "the log holds %zu entries, the outboxes %zu referrals", nl, nw);
    memcpy(sorted, logged, nl * sizeof *sorted);
    qsort(sorted, nl, sizeof *sorted, cmp_ref);
    for (size_t i = 0; i < nw; i++) {
        cr_assert_str_eq(sorted[i].event_id, want[i].event_id, "entry %zu", i);
        cr_assert_str_eq(sorted[i].urn, want[i].urn);
        cr_assert_str_eq(sorted[i].upn, want[i].upn);
        cr_assert_str_eq(sorted[i].kind, want[i].kind);
    }
    return nl;
}

/* ---- CURVE clients written with libzmq directly ---- */

typedef struct {
    void *sub, *mon;
} client_t;

static void client_open(void *ctx, client_t *cl, const char *name, const char *prefix,
                        const char *monitor_at)
{
    char server[41], secret[41], public[41];
    int linger = 0;
    read_key("server", "pub", server);
    read_key(name, "key", secret);
    cr_assert_eq(zmq_curve_public(public, secret), 0);
    cl->sub = zmq_socket(ctx, ZMQ_SUB);
    cr_assert(cl->sub);
    zmq_setsockopt(cl->sub, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_setsockopt(cl->sub, ZMQ_CURVE_SERVERKEY, server, 40), 0);
    cr_assert_eq(zmq_setsockopt(cl->sub, ZMQ_CURVE_PUBLICKEY, public, 40), 0);
    cr_assert_eq(zmq_setsockopt(cl->sub, ZMQ_CURVE_SECRETKEY, secret, 40), 0);
    cr_assert_eq(zmq_setsockopt(cl->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix)), 0);
    cl->mon = NULL;
    if (monitor_at) {
        cr_assert_eq(
            zmq_socket_monitor(cl->sub, monitor_at,
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED),
            0);
        cl->mon = zmq_socket(ctx, ZMQ_PAIR);
        zmq_setsockopt(cl->mon, ZMQ_LINGER, &linger, sizeof linger);
        cr_assert_eq(zmq_connect(cl->mon, monitor_at), 0);
    }
    cr_assert_eq(zmq_connect(cl->sub, pub_at), 0);
}

static void client_close(client_t *cl)
{
    if (cl->mon)
        zmq_close(cl->mon);
    zmq_close(cl->sub);
}

/* monitor_event waits for the next monitor event; returns it (value in
 * *value) or 0 after timeout_ms. */
static int monitor_event(client_t *cl, uint32_t *value, int timeout_ms)
{
    zmq_pollitem_t it = {.socket = cl->mon, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return 0;
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    cr_assert_geq(zmq_msg_recv(&ev, cl->mon, 0), 6);
    cr_assert_geq(zmq_msg_recv(&addr, cl->mon, 0), 0);
    uint16_t event;
    memcpy(&event, zmq_msg_data(&ev), 2);
    memcpy(value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
    return event;
}

/* take_all receives every message waiting (until quiet for quiet_ms),
 * checking each is [referral.909.<urn>.][JSON of that urn], and stores the
 * JSON objects in got; returns how many. */
static size_t take_all(client_t *cl, json_t **got, size_t cap, int quiet_ms)
{
    size_t n = 0;
    for (;;) {
        zmq_pollitem_t it = {.socket = cl->sub, .events = ZMQ_POLLIN};
        if (zmq_poll(&it, 1, quiet_ms) <= 0)
            return n;
        char topic[CODEC_TOPIC_MAX], body[4096];
        int tl = zmq_recv(cl->sub, topic, sizeof topic - 1, 0);
        cr_assert_gt(tl, 0);
        topic[tl] = '\0';
        int more;
        size_t ml = sizeof more;
        zmq_getsockopt(cl->sub, ZMQ_RCVMORE, &more, &ml);
        cr_assert(more, "a referral is two frames");
        int bl = zmq_recv(cl->sub, body, sizeof body, 0);
        cr_assert(bl > 0 && bl < (int)sizeof body);
        json_error_t jerr;
        json_t *o = json_loadb(body, (size_t)bl, 0, &jerr);
        cr_assert(json_is_object(o), "not one JSON object: %s", jerr.text);
        char want[CODEC_TOPIC_MAX];
        snprintf(want, sizeof want, "referral.909.%s.",
                 json_string_value(json_object_get(o, "urn")));
        cr_assert_str_eq(topic, want);
        cr_assert_lt(n, cap);
        got[n++] = o;
    }
}

Test(lafeed, known_key_gets_every_referral_once_others_get_nothing)
{
    void *ctx = zmq_ctx_new();
    client_t la909, la910, stranger;
    start_reports();
    client_open(ctx, &la909, "la909", "referral.909.", NULL);
    client_open(ctx, &la910, "la910", "referral.909.", NULL); /* another LA's */
    client_open(ctx, &stranger, "stranger", "referral.", "inproc://stranger-monitor");

    /* The unknown key: the handshake fails with the ZAP handler's 400. */
    uint32_t value = 0;
    cr_assert_eq(monitor_event(&stranger, &value, 10000), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                 "the unknown key was not refused");
    cr_assert_eq(value, 400);
    cr_assert(ts_proc_wait_log(&reports, "\"lafeed.client_refused\"", 5000));
    /* 909 subscribed; 910's subscription to 909 refused. */
    cr_assert(ts_proc_wait_log(&reports, "\"lafeed.subscribed\"", 10000));
    cr_assert(ts_proc_wait_log(&reports, "\"lafeed.subscription_refused\"", 10000));

    load_year(0);
    wait_done(120000);
    static ref_t logged[MAX_REFS];
    size_t n = check_log(logged);

    static json_t *got[MAX_REFS];
    size_t ng = take_all(&la909, got, MAX_REFS, 1500);
    cr_assert_eq(ng, n, "909's client got %zu referrals of %zu", ng, n);
    for (size_t i = 0; i < ng; i++) {
        json_int_t id = json_integer_value(json_object_get(got[i], "id"));
        cr_assert_eq(id, (json_int_t)i + 1, "in order, once each");
        cr_assert_eq(json_integer_value(json_object_get(got[i], "prev")), id - 1);
        cr_assert_str_eq(json_string_value(json_object_get(got[i], "la")), "909");
        const ref_t *r = &logged[i];
        cr_assert_str_eq(json_string_value(json_object_get(got[i], "event_id")), r->event_id);
        cr_assert_str_eq(json_string_value(json_object_get(got[i], "urn")), r->urn);
        cr_assert_str_eq(json_string_value(json_object_get(got[i], "upn")), r->upn);
        const char *kind = json_string_value(json_object_get(got[i], "kind"));
        referral_kind_t k;
        cr_assert(kind && referral_kind_parse(kind, strlen(kind), &k) == RC_OK);
        cr_assert_str_eq(kind, r->kind);
        const char *date = json_string_value(json_object_get(got[i], "date"));
        rc_date_t d;
        cr_assert(date && date_parse(date, strlen(date), &d) == RC_OK);
        cr_assert(json_string_length(json_object_get(got[i], "reason")) > 0);
        json_decref(got[i]);
    }
    static json_t *none[MAX_REFS];
    cr_assert_eq(take_all(&la910, none, MAX_REFS, 200), 0, "another LA's key got 909's referrals");
    cr_assert_eq(take_all(&stranger, none, MAX_REFS, 200), 0, "an unknown key got referrals");
    for (int ev; (ev = monitor_event(&stranger, &value, 200)) != 0;)
        cr_assert_neq(ev, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "the unknown key got in on a retry");
    client_close(&la909);
    client_close(&la910);
    client_close(&stranger);
    zmq_ctx_term(ctx);
}

/* ask_replay sends one replay request as name and returns the answer. */
static json_t *ask_replay(void *ctx, const char *name, uint64_t after)
{
    char server[41], secret[41], public[41], req[64], buf[1 << 18];
    int linger = 0;
    read_key("server", "pub", server);
    read_key(name, "key", secret);
    cr_assert_eq(zmq_curve_public(public, secret), 0);
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, server, 40);
    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, public, 40);
    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, secret, 40);
    cr_assert_eq(zmq_connect(d, replay_at), 0);
    int len = snprintf(req, sizeof req, "{\"req\":7,\"after\":%llu}", (unsigned long long)after);
    cr_assert_eq(zmq_send(d, req, (size_t)len, 0), len);
    zmq_pollitem_t it = {.socket = d, .events = ZMQ_POLLIN};
    json_t *a = NULL;
    if (zmq_poll(&it, 1, 3000) == 1) {
        int n = zmq_recv(d, buf, sizeof buf, 0);
        cr_assert(n > 0 && n < (int)sizeof buf);
        a = json_loadb(buf, (size_t)n, 0, NULL);
    }
    zmq_close(d);
    return a;
}

Test(lafeed, replay_answers_only_the_clients_own_la)
{
    start_reports();
    load_year(0);
    wait_done(120000);
    static ref_t logged[MAX_REFS];
    size_t n = check_log(logged);
    void *ctx = zmq_ctx_new();
    json_t *a = ask_replay(ctx, "la909", 3);
    cr_assert(a, "no answer");
    cr_assert_str_eq(json_string_value(json_object_get(a, "la")), "909");
    cr_assert_eq(json_integer_value(json_object_get(a, "req")), 7);
    cr_assert_eq(json_integer_value(json_object_get(a, "last")), (json_int_t)n);
    json_t *entries = json_object_get(a, "entries");
    cr_assert_eq(json_array_size(entries), n - 3 < LAFEED_PAGE ? n - 3 : LAFEED_PAGE);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(entries, 0), "id")), 4);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(entries, 0), "event_id")),
                     logged[3].event_id);
    json_decref(a);
    /* 910's key reads 910's log (empty), never 909's. */
    a = ask_replay(ctx, "la910", 0);
    cr_assert(a, "no answer");
    cr_assert_str_eq(json_string_value(json_object_get(a, "la")), "910");
    cr_assert_eq(json_array_size(json_object_get(a, "entries")), 0);
    json_decref(a);
    /* An unknown key gets no answer at all. */
    cr_assert_null(ask_replay(ctx, "stranger", 0));
    zmq_ctx_term(ctx);

    /* rollcall subscribe with that key says so and exits 1, printing nothing. */
    char cmd[1200], out[200];
    snprintf(out, sizeof out, "%s/stranger.out", redis.dir);
    snprintf(cmd, sizeof cmd,
             "timeout 20 %s subscribe --la 909 --endpoint %s --replay %s --server-key "
             "'%s/server.pub' --key '%s/stranger.key' --state '%s/stranger.state' >'%s' 2>&1",
             ts_binary("cli/rollcall"), pub_at, replay_at, keys, keys, redis.dir, out);
    int status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    size_t len;
    char *said = ts_slurp(out, &len);
    cr_assert(said && strstr(said, "refused this key"), "%s", said ? said : "");
    cr_assert_null(strstr(said, "\"id\""), "it printed a referral");
    free(said);
}

/* ---- rollcall subscribe, killed and restarted ---- */

static pid_t start_subscriber(const char *out, int append)
{
    char server[200], key[200], state[200], err[200];
    key_path("server", "pub", server, sizeof server);
    key_path("la909", "key", key, sizeof key);
    snprintf(state, sizeof state, "%s/subscribe.state", redis.dir);
    snprintf(err, sizeof err, "%s/subscribe.err", redis.dir);
    char *argv[] = {(char *)ts_binary("cli/rollcall"),
                    "subscribe",
                    "--la",
                    "909",
                    "--endpoint",
                    pub_at,
                    "--replay",
                    replay_at,
                    "--server-key",
                    server,
                    "--key",
                    key,
                    "--state",
                    state,
                    "--poll",
                    "1",
                    NULL};
    return spawn(argv, out, err, append);
}

static size_t count_lines(const char *path)
{
    size_t n = 0, len;
    char *s = ts_slurp(path, &len);
    for (size_t i = 0; s && i < len; i++)
        n += s[i] == '\n';
    free(s);
    return n;
}

/* read_lines parses each line of path into got[*n...]. */
static void read_lines(const char *path, json_t **got, size_t *n)
{
    size_t len;
    char *s = ts_slurp(path, &len);
    cr_assert(s, "%s", path);
    for (char *p = s, *e; *p; p = e + 1) {
        e = strchr(p, '\n');
        cr_assert(e, "a line without its newline in %s", path);
        json_t *o = json_loadb(p, (size_t)(e - p), 0, NULL);
        cr_assert(json_is_object(o), "not a JSON line: %.*s", (int)(e - p), p);
        cr_assert_lt(*n, MAX_REFS);
        got[(*n)++] = o;
    }
    free(s);
}

/* The subscriber's stdout is one file, appended to by both runs (`>>`), as
 * an operator would keep it: the file holds each referral exactly once. */
Test(lafeed, subscriber_killed_and_restarted_prints_each_referral_once)
{
    char out[200];
    snprintf(out, sizeof out, "%s/subscribe.jsonl", redis.dir);
    start_reports();
    pid_t sub = start_subscriber(out, 0);
    cr_assert(ts_proc_wait_log(&reports, "\"lafeed.subscribed\"", 10000));
    pid_t load = load_year(1);
    size_t before = 0;
    for (int waited = 0; (before = count_lines(out)) < 3 && waited < 60000; waited += 5)
        ts_sleep_ms(5);
    cr_assert_geq(before, 3, "the subscriber printed nothing");
    kill(sub, SIGKILL); /* often between a line and its state file: the file settles it */
    waitpid(sub, NULL, 0);
    size_t printed1 = count_lines(out);
    ts_sleep_ms(1500); /* more referrals while it is down */
    sub = start_subscriber(out, 1);
    wait_pid_ok(load, 120000);
    wait_done(120000);
    static ref_t logged[MAX_REFS];
    size_t n = check_log(logged);
    cr_assert_lt(printed1, n, "killed part way: %zu of %zu printed before", printed1, n);
    for (int waited = 0; count_lines(out) < n && waited < 15000; waited += 50)
        ts_sleep_ms(50);
    ts_sleep_ms(1500); /* a repeat would come now, if at all (--poll 1) */
    kill(sub, SIGTERM);
    int status;
    waitpid(sub, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "subscribe exited badly");

    /* The window made certain: killed after its last line was written but
     * before the state file moved, and in the middle of another line. */
    char state[200], err[SUBSCRIBE_ERR_MAX];
    snprintf(state, sizeof state, "%s/subscribe.state", redis.dir);
    cr_assert_eq(subscribe_state_write(state, "909", n - 1, err), RC_OK, "%s", err);
    FILE *f = fopen(out, "a");
    cr_assert(f);
    fputs("{\"id\":", f);
    fclose(f);
    sub = start_subscriber(out, 1);
    ts_sleep_ms(2500);
    kill(sub, SIGTERM);
    waitpid(sub, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "subscribe exited badly");

    static json_t *got[MAX_REFS];
    size_t ng = 0;
    read_lines(out, got, &ng);
    cr_assert_eq(ng, n, "printed %zu lines for %zu referrals", ng, n);
    for (size_t i = 0; i < ng; i++) {
        cr_assert_eq(json_integer_value(json_object_get(got[i], "id")), (json_int_t)i + 1,
                     "line %zu: no gap, no repeat", i + 1);
        cr_assert_str_eq(json_string_value(json_object_get(got[i], "event_id")),
                         logged[i].event_id);
        json_decref(got[i]);
    }
}

/* ---- reports killed -9 ---- */

static long long log_length(void)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, "XLEN rp:ref:{909}");
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

Test(lafeed, reports_killed_9_and_restarted_logs_each_referral_once)
{
    start_reports();
    pid_t load = load_year(1);
    long long at_kill = 0;
    for (int round = 0; round < 3; round++) { /* killed while referrals flow in */
        for (int waited = 0; (at_kill = log_length()) < 8 * (round + 1) && waited < 60000;
             waited += 10)
            ts_sleep_ms(10);
        cr_assert_eq(ts_proc_stop(&reports, SIGKILL, 2000), 128 + SIGKILL);
        ts_sleep_ms(200 * round); /* and kept down a while: a backlog to catch up on */
        start_reports();
    }
    wait_pid_ok(load, 120000);
    wait_done(120000);
    static ref_t logged[MAX_REFS];
    size_t n = check_log(logged);
    cr_assert_lt(at_kill, (long long)n, "the last kill came after every referral");
    /* Killed once more at the end and restarted: nothing is added again. */
    cr_assert_eq(ts_proc_stop(&reports, SIGKILL, 2000), 128 + SIGKILL);
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, "XLEN rp:ref:{909}");
    long long before = r->integer;
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "DEL rp:pos:{100202}")); /* as if never taken */
    start_reports();
    wait_done(30000);
    cr_assert(ts_proc_wait_log(&reports, "\"service.ready\"", 1000));
    r = redisCommand(c, "XLEN rp:ref:{909}");
    cr_assert_eq(r->integer, before);
    freeReplyObject(r);
    redisFree(c);
    check_log(logged);
    /* ... and it did see that school's referrals again, and dropped them. */
    cr_assert_eq(ts_proc_stop(&reports, SIGTERM, 5000), 0);
    size_t len;
    char *log = ts_slurp(reports.log, &len), *stats = log ? strstr(log, "\"lafeed.stats\"") : NULL;
    cr_assert(stats, "no lafeed.stats line");
    char *dup = strstr(stats, "\"duplicates\":");
    cr_assert(dup && atoi(dup + 13) > 0, "the restart did not read the school again");
    free(log);
}

/* ---- units ---- */

Test(lafeed_units, clients_file)
{
    char pub[41], sec[41], err[LAFEED_ERR_MAX], text[400];
    uint8_t bin[32];
    lafeed_clients_t *cl = NULL;
    cr_assert_eq(zmq_curve_keypair(pub, sec), 0);
    snprintf(text, sizeof text, "# comment\n\n  %s 909  LA 909 office \r\n", pub);
    cr_assert_eq(lafeed_clients_parse(text, strlen(text), &cl, err), RC_OK, "%s", err);
    cr_assert_eq(lafeed_clients_count(cl), 1);
    zmq_z85_decode(bin, pub);
    const char *label = NULL;
    cr_assert_str_eq(lafeed_clients_find(cl, bin, &label), "909");
    cr_assert_str_eq(label, "LA 909 office");
    zmq_z85_decode(bin, sec); /* another key */
    cr_assert_null(lafeed_clients_find(cl, bin, NULL));
    lafeed_clients_destroy(&cl);
    cr_assert_null(cl);

    char bad[4][200];
    snprintf(bad[0], sizeof bad[0], "short 909 x\n");
    snprintf(bad[1], sizeof bad[1], "%s 90 x\n", pub);
    snprintf(bad[2], sizeof bad[2], "%s 909\n", pub);
    snprintf(bad[3], sizeof bad[3], "%s 909 a\n%s 910 b\n", pub, pub);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(lafeed_clients_parse(bad[i], strlen(bad[i]), &cl, err), RC_EPARSE, "%s",
                     bad[i]);
        cr_assert_null(cl);
        cr_assert_null(strstr(err, pub), "the error shows the key");
    }
}

Test(lafeed_units, subscriptions_stay_inside_the_la)
{
    const char *ok[] = {"referral.909.", "referral.909.100201."};
    const char *no[] = {"", "referral.", "referral.90", "referral.910.", "referral.9091."};
    for (size_t i = 0; i < 2; i++)
        cr_assert(lafeed_subscription_allowed("909", (const uint8_t *)ok[i], strlen(ok[i])), "%s",
                  ok[i]);
    for (size_t i = 0; i < 5; i++)
        cr_assert_not(lafeed_subscription_allowed("909", (const uint8_t *)no[i], strlen(no[i])),
                      "%s", no[i]);
}

Test(lafeed_units, state_file_round_trip)
{
    char dir[] = "/tmp/lafeed-state-XXXXXX", path[64], err[SUBSCRIBE_ERR_MAX];
    uint64_t last = 99;
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state", dir);
    cr_assert_eq(subscribe_state_read(path, "909", &last, err), RC_OK);
    cr_assert_eq(last, 0, "no file: from the start");
    cr_assert_eq(subscribe_state_write(path, "909", 42, err), RC_OK, "%s", err);
    cr_assert_eq(subscribe_state_read(path, "909", &last, err), RC_OK);
    cr_assert_eq(last, 42);
    cr_assert_eq(subscribe_state_read(path, "910", &last, err), RC_EINVAL, "another LA's state");
    unlink(path);
    rmdir(dir);
}

Test(lafeed_units, referral_json)
{
    lafeed_referral_t r = {.id = 5,
                           .la = "909",
                           .urn = "100201",
                           .upn = "A123456789012",
                           .kind = "cme",
                           .date = "2026-01-12",
                           .reason = "10 days",
                           .event_id = "abc"};
    char *s = lafeed_referral_json(&r);
    cr_assert_str_eq(s, "{\"id\":5,\"prev\":4,\"la\":\"909\",\"urn\":\"100201\",\"upn\":"
                        "\"A123456789012\",\"kind\":\"cme\",\"date\":\"2026-01-12\",\"reason\":"
                        "\"10 days\",\"event_id\":\"abc\"}");
    free(s);
}
