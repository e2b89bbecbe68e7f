/* test_schoollog.c - the per-school log against a real redis-server: the
 * amendment rule applied atomically, gap-free sequences, reading back, and
 * surviving kill -9 of Redis with AOF on. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/schoollog.h"
#include "testsupport.h"

static ts_redis_t redis;
static redisContext *rc;

static void setup(void)
{
    ts_redis_start(&redis, 1);
    rc = ts_redis_connect(&redis);
    const char *why = NULL;
    cr_assert_eq(schoollog_install(rc, &why), RC_OK, "%s", why ? why : "");
}
static void teardown(void)
{
    if (rc)
        redisFree(rc);
    rc = NULL;
    ts_redis_stop(&redis);
}
TestSuite(schoollog, .init = setup, .fini = teardown, .timeout = 60);

static mark_t mark(const char *urn, const char *code, int64_t recorded)
{
    mark_t m = {.date = 20500, .session = SESSION_AM, .recorded_at = recorded};
    strcpy(m.urn, urn);
    strcpy(m.upn, "B801200005001");
    code_parse(code, strlen(code), &m.code);
    return m;
}

static schoollog_result_t append_mark(const mark_t *m, const char *payload)
{
    schoollog_result_t res = {0};
    const char *why = NULL;
    cr_assert_eq(schoollog_queue_mark(rc, m, (const uint8_t *)payload, strlen(payload)), RC_OK);
    cr_assert_eq(schoollog_collect(rc, &res, &why), RC_OK, "%s", why ? why : "");
    return res;
}

typedef struct {
    uint64_t seq[16];
    char body[16][32];
    size_t n;
} seen_t;

static int collect(void *ctx, const char *urn, uint64_t seq, const uint8_t *env, size_t len)
{
    seen_t *s = ctx;
    (void)urn;
    cr_assert_lt(s->n, 16);
    s->seq[s->n] = seq;
    cr_assert_lt(len, sizeof s->body[0]);
    memcpy(s->body[s->n], env, len);
    s->body[s->n][len] = '\0';
    s->n++;
    return 0;
}

Test(schoollog, amendment_rule_and_sequence)
{
    mark_t n = mark("100001", "N", 1000), i = mark("100001", "I", 2000);
    schoollog_result_t r = append_mark(&n, "n1");
    cr_assert_eq(r.status, SCHOOLLOG_APPENDED);
    cr_assert_eq(r.seq, 1);
    r = append_mark(&n, "n1-again");
    cr_assert_eq(r.status, SCHOOLLOG_DUPLICATE);
    cr_assert_eq(r.seq, 0);
    r = append_mark(&i, "i2");
    cr_assert_eq(r.status, SCHOOLLOG_APPENDED);
    cr_assert_eq(r.seq, 2);
    mark_t older = mark("100001", "O", 1500); /* recorded between the two */
    r = append_mark(&older, "o-late");
    cr_assert_eq(r.status, SCHOOLLOG_SUPERSEDED);
    cr_assert_eq(r.seq, 3);
    cr_assert_eq(append_mark(&older, "o-again").status, SCHOOLLOG_DUPLICATE);
    cr_assert_eq(append_mark(&n, "n1-third").status, SCHOOLLOG_DUPLICATE);
    /* Same instant as the winner, different code: ordered by code, as mark_beats. */
    mark_t tie = mark("100001", "C", 2000);
    int beats = mark_beats(&tie, &i);
    cr_assert_eq(append_mark(&tie, "tie").status,
                 beats ? SCHOOLLOG_APPENDED : SCHOOLLOG_SUPERSEDED);

    /* Another school counts from 1 on its own. */
    mark_t other = mark("100002", "N", 1000);
    cr_assert_eq(append_mark(&other, "x").seq, 1);

    uint64_t last;
    cr_assert_eq(schoollog_last_seq(rc, "100001", &last), RC_OK);
    cr_assert_eq(last, 4);
    cr_assert_eq(schoollog_last_seq(rc, "100003", &last), RC_OK);
    cr_assert_eq(last, 0);
}

Test(schoollog, events_share_the_sequence_and_read_back_in_order)
{
    mark_t n = mark("100001", "N", 1000);
    append_mark(&n, "mark");
    schoollog_result_t r;
    cr_assert_eq(schoollog_queue_event(rc, "100001", (const uint8_t *)"tick", 4), RC_OK);
    cr_assert_eq(schoollog_queue_event(rc, "100001", (const uint8_t *)"fa\0ct", 5), RC_OK);
    cr_assert_eq(schoollog_collect(rc, &r, NULL), RC_OK);
    cr_assert_eq(r.seq, 2);
    cr_assert_eq(schoollog_collect(rc, &r, NULL), RC_OK);
    cr_assert_eq(r.seq, 3);

    seen_t all = {0};
    size_t got;
    cr_assert_eq(schoollog_read(rc, "100001", 0, 100, collect, &all, &got), RC_OK);
    cr_assert_eq(got, 3);
    cr_assert_eq(all.seq[0], 1);
    cr_assert_str_eq(all.body[0], "mark");
    cr_assert_eq(all.seq[2], 3);
    cr_assert_eq(all.body[2][2], '\0'); /* binary-safe: the NUL survived */
    cr_assert_str_eq(all.body[2] + 3, "ct");

    seen_t tail = {0};
    cr_assert_eq(schoollog_read(rc, "100001", 1, 1, collect, &tail, &got), RC_OK);
    cr_assert_eq(got, 1);
    cr_assert_eq(tail.seq[0], 2);
    cr_assert_str_eq(tail.body[0], "tick");
}

Test(schoollog, survives_kill_9_of_redis)
{
    mark_t n = mark("100001", "N", 1000), i = mark("100001", "I", 2000);
    append_mark(&n, "a");
    append_mark(&i, "b");
    redisFree(rc);
    rc = NULL;
    ts_redis_kill9(&redis);
    ts_redis_restart(&redis);
    rc = ts_redis_connect(&redis);
    /* Functions, versions and the sequence all came back from the AOF. */
    cr_assert_eq(append_mark(&n, "a").status, SCHOOLLOG_DUPLICATE);
    mark_t later = mark("100001", "/", 3000);
    schoollog_result_t r = append_mark(&later, "c");
    cr_assert_eq(r.status, SCHOOLLOG_APPENDED);
    cr_assert_eq(r.seq, 3);
    seen_t all = {0};
    cr_assert_eq(schoollog_read(rc, "100001", 0, 100, collect, &all, NULL), RC_OK);
    cr_assert_eq(all.n, 3);
    cr_assert_str_eq(all.body[1], "b");
}
