/* bench_rules.c - rules catching up a school year from its log, beside Redis's ceiling. */

/* Starts its own redis-server (AOF, fsync always) and rollcall-ingest (replay clock) in a temp
 * dir, loads one school, its 2025-26 calendar and its pupils, and fills the school's log with a
 * full year of marks and clock ticks through ingest. Only then starts rollcall-rules and times
 * its catch-up from an empty state to the end of the log. Then replays rules' writes for the
 * same log on scratch keys of the same Redis (the ceiling), measures what a pupil's state costs
 * in Redis, and, unless --no-everysec, does both again with appendfsync everysec. Prints its
 * figures; asserts none. Usage: bench_rules --help. */
#include <curl/curl.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "benchsupport.h"
#include "common/feed.h"
#include "common/schoollog.h"
#include "rollcall/calendar.h"
#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "rollcall/ids.h"
#include "rules/rules.h"

#ifndef ROLLCALL_BINARY_DIR
#define ROLLCALL_BINARY_DIR "."
#endif
#ifndef RULES_BATCH
#define RULES_BATCH 1 /* a rules that commits each log entry on its own */
#endif
#ifndef ROLLCALL_SOURCE_DIR
#define ROLLCALL_SOURCE_DIR "."
#endif

#define BENCH_URN     "100001"
#define SCRATCH_TAG   "rcbench" /* the ceiling's keys: rs:*:{rcbench}... */
#define HASH_MAX_ARGS 128       /* fields of one HSET replayed by the ceiling */
#define ROUNDS_MAX    5

/* What the run was asked for. */
typedef struct {
    int pupils;        /* pupils in the school */
    int batch;         /* most marks per POST */
    int everysec;      /* also run with appendfsync everysec */
    int rounds;        /* catch-ups and ceilings per setting; the best is reported */
    int ceiling_batch; /* log entries per MULTI/EXEC in the ceiling */
    int keep;          /* leave the temp dir (logs, AOF) behind */
    char rules[BS_PATH_MAX], ingest[BS_PATH_MAX];
    char policies_dir[BS_PATH_MAX], policy[64];
} opts_t;

/* The run's processes, ports and connections. */
typedef struct {
    const opts_t *o;
    char dir[BS_PATH_MAX]; /* temp dir: AOF, logs */
    bs_redis_t redis;      /* its connection is the bench's own: INFO, polling, MEMORY USAGE */
    int http_port, ingest_pub_port, rules_pub_port;
    pid_t ingest_pid, rules_pid;
    CURL *curl; /* one handle: one keep-alive connection */
    char url[64];
} bench_t;

/* ---- Redis keys ---- */

/* Keys of one pattern, from SCAN. */
typedef struct {
    char **keys;
    size_t n, cap;
} keys_t;

static void keys_free(keys_t *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->keys[i]);
    free(k->keys);
    memset(k, 0, sizeof *k);
}

/* redis_scan collects every key matching pattern; 0, or -1 when Redis failed. */
static int redis_scan(redisContext *c, const char *pattern, keys_t *out)
{
    char cursor[32] = "0";
    memset(out, 0, sizeof *out);
    do {
        redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->len >= sizeof cursor) {
            freeReplyObject(r);
            return -1;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 256;
                char **v = realloc(out->keys, cap * sizeof *v);
                if (!v) {
                    freeReplyObject(r);
                    return -1;
                }
                out->keys = v;
                out->cap = cap;
            }
            if (!(out->keys[out->n] = strdup(r->element[1]->element[i]->str))) {
                freeReplyObject(r);
                return -1;
            }
            out->n++;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* redis_memory_usage sums MEMORY USAGE (every element counted) of keys,
 * pipelined; returns the bytes, or -1 when Redis failed. */
static long long redis_memory_usage(redisContext *c, const keys_t *k)
{
    long long sum = 0;
    for (size_t from = 0; from < k->n; from += 256) {
        size_t to = k->n - from < 256 ? k->n : from + 256;
        for (size_t i = from; i < to; i++)
            redisAppendCommand(c, "MEMORY USAGE %s SAMPLES 0", k->keys[i]);
        for (size_t i = from; i < to; i++) {
            void *r = NULL;
            if (redisGetReply(c, &r) != REDIS_OK)
                return -1;
            redisReply *rep = r;
            sum += rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
            freeReplyObject(r);
        }
    }
    return sum;
}

/* redis_unlink_matching deletes every key matching pattern; 0 or -1. */
static int redis_unlink_matching(redisContext *c, const char *pattern)
{
    keys_t k;
    int err = redis_scan(c, pattern, &k);
    for (size_t from = 0; err == 0 && from < k.n; from += 256) {
        size_t to = k.n - from < 256 ? k.n : from + 256;
        for (size_t i = from; i < to; i++)
            redisAppendCommand(c, "UNLINK %s", k.keys[i]);
        for (size_t i = from; i < to; i++) {
            void *r = NULL;
            if (redisGetReply(c, &r) != REDIS_OK) {
                err = -1;
                break;
            }
            freeReplyObject(r);
        }
    }
    keys_free(&k);
    return err;
}

/* ---- rollcall-rules ---- */

/* rules_start starts rollcall-rules against the bench's Redis and ingest
 * (replay clock, the repo's policies). Returns 0, or -1. */
static int rules_start(bench_t *b, const char *logname)
{
    char rport[16], sub[64], pub[64], log[BS_PATH_MAX + 80];
    snprintf(rport, sizeof rport, "%d", b->redis.port);
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", b->ingest_pub_port);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", b->rules_pub_port);
    snprintf(log, sizeof log, "%s/%s", b->dir, logname);
    char *argv[] = {(char *)b->o->rules,
                    "--redis-port",
                    rport,
                    "--ingest-endpoints",
                    sub,
                    "--pub-endpoint",
                    pub,
                    "--policies-dir",
                    (char *)b->o->policies_dir,
                    "--clock",
                    "replay",
                    NULL};
    if ((b->rules_pid = bs_spawn(argv, log)) < 0) {
        fprintf(stderr, "bench_rules: fork: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* json_count reads an integer field of an ingest answer (0 when absent). */
static long json_count(json_t *j, const char *key)
{
    return (long)json_integer_value(json_object_get(j, key));
}

/* What ingest said about the year's POSTs. */
typedef struct {
    long sent, accepted, duplicates, superseded, rejected, amended;
    long ticks, posts;
    int school_days, open_sessions;
    double seconds;
} fill_t;

/* post_body POSTs one body and adds ingest's counts to f; -1 when ingest
 * failed or refused a row (the year would not be the one described). */
static int post_body(bench_t *b, const char *path, const char *ctype, const bs_text_t *t, fill_t *f)
{
    bs_resp_t r;
    if (bs_http_send(b->curl, "POST", b->url, path, ctype, t->s, t->len, &r, 0) != 0)
        return -1;
    json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
    int ok = r.status == 200 && j && json_count(j, "rejected_rows") == 0;
    if (f && j) {
        f->accepted += json_count(j, "accepted");
        f->duplicates += json_count(j, "duplicates");
        f->superseded += json_count(j, "superseded");
        f->rejected += json_count(j, "rejected_rows");
        f->posts++;
    }
    if (!ok)
        fprintf(stderr, "bench_rules: POST %s answered %ld: %.400s\n", path, r.status,
                r.body ? r.body : "");
    json_decref(j);
    free(r.body);
    return ok ? 0 : -1;
}

/* ---- the year ---- */

/* The 2025-26 year of tests/fixture_calendar.h: whole terms, closures inside. */
static const char *const terms[][2] = {
    {"2025-09-03", "2025-12-19"},
    {"2026-01-05", "2026-03-27"},
    {"2026-04-13", "2026-07-22"},
};
static const char *const closures[][3] = {
    {"2025-10-27", "2025-10-31", "ALL"}, {"2026-02-16", "2026-02-20", "ALL"},
    {"2026-05-04", "2026-05-04", "ALL"}, {"2026-05-25", "2026-05-29", "ALL"},
    {"2026-06-26", "2026-06-26", "ALL"}, {"2026-03-27", "2026-03-27", "PM"},
};

/* pupil_upn writes pupil p's UPN: LA 909, establishment 2001, a 5-digit
 * serial, and its check letter in front. */
static void pupil_upn(int p, char upn[RC_UPN_LEN + 1])
{
    snprintf(upn + 1, RC_UPN_LEN, "9092001%05u", (unsigned)p % 100000u);
    upn[0] = upn_check_letter(upn + 1);
}

/* upn_pupil is pupil_upn backwards: the serial, or -1. */
static int upn_pupil(const char *upn)
{
    return strlen(upn) == RC_UPN_LEN ? atoi(upn + 8) : -1;
}

/* last_sunday returns the last Sunday of month m (March or October: 31 days). */
static rc_date_t last_sunday(int y, int m)
{
    rc_date_t d = date_from_ymd(y, m, 31);
    return d - date_weekday(d) % 7;
}

/* local_at writes day d at hh:mm, London time, with its offset: BST from the
 * last Sunday of March to the last Sunday of October (school hours never meet
 * the 01:00 UTC change itself). */
static void local_at(rc_date_t d, int hh, int mm, char out[40])
{
    int y, m, dd;
    char date[RC_DATE_STRLEN];
    date_to_ymd(d, &y, &m, &dd);
    int bst = d >= last_sunday(y, 3) && d < last_sunday(y, 10);
    snprintf(out, 40, "%sT%02d:%02d:00%s", date_format(d, date), hh, mm, bst ? "+01:00" : "+00:00");
}

static calendar_t *year_calendar(rc_date_t *first, rc_date_t *last)
{
    calendar_t *cal = calendar_new();
    rc_date_t from, to;
    for (size_t i = 0; cal && i < sizeof terms / sizeof *terms; i++) {
        date_parse(terms[i][0], 10, &from);
        date_parse(terms[i][1], 10, &to);
        calendar_add_term(cal, from, to);
        *first = i == 0 ? from : *first;
        *last = to;
    }
    for (size_t i = 0; cal && i < sizeof closures / sizeof *closures; i++) {
        date_parse(closures[i][0], 10, &from);
        date_parse(closures[i][1], 10, &to);
        unsigned mask = closures[i][2][0] == 'A'   ? SESS_ALL
                        : closures[i][2][0] == 'P' ? SESS_PM
                                                   : SESS_AM;
        calendar_add_closure(cal, from, to, mask);
    }
    return cal;
}

/* load_reference POSTs the school (running the chosen policy), its calendar
 * and its pupils, all on roll for the whole year. */
static int load_reference(bench_t *b)
{
    const opts_t *o = b->o;
    bs_text_t t = {0};
    char upn[RC_UPN_LEN + 1];
    int err = -1;
    bs_text_add(&t, "urn,name,la_code,trust_id,policy\n%s,Bench Academy,909,T1,%s\n", BENCH_URN,
                o->policy);
    if (!t.s || post_body(b, "/v1/schools", "text/csv", &t, NULL) != 0)
        goto out;
    t.len = 0;
    bs_text_add(&t, "urn,kind,from,to,session\n");
    for (size_t i = 0; i < sizeof terms / sizeof *terms; i++)
        bs_text_add(&t, "%s,term,%s,%s,\n", BENCH_URN, terms[i][0], terms[i][1]);
    for (size_t i = 0; i < sizeof closures / sizeof *closures; i++)
        bs_text_add(&t, "%s,closure,%s,%s,%s\n", BENCH_URN, closures[i][0], closures[i][1],
                    closures[i][2]);
    if (!t.s || post_body(b, "/v1/calendar", "text/csv", &t, NULL) != 0)
        goto out;
    for (int p = 0; p < o->pupils; p += 5000) { /* keep each body modest */
        t.len = 0;
        bs_text_add(&t, "urn,upn,forename,surname,year_group,date_of_birth,on_roll_from,"
                        "on_roll_to,sen,fsm,eal,cla,social_worker\n");
        for (int q = p; q < o->pupils && q < p + 5000; q++) {
            int yg = 7 + q % 5; /* a secondary: years 7 to 11 */
            pupil_upn(q, upn);
            bs_text_add(&t, "%s,%s,Ann,Smith,%d,%d-03-02,2025-09-01,,%c,%c,N,%c,%c\n", BENCH_URN,
                        upn, yg, 2014 - (yg - 7), q % 7 ? 'N' : 'Y', q % 5 ? 'N' : 'Y',
                        q % 50 == 3 ? 'Y' : 'N', q % 25 == 3 ? 'Y' : 'N');
        }
        if (!t.s || post_body(b, "/v1/pupils", "text/csv", &t, NULL) != 0)
            goto out;
    }
    err = 0;
out:
    free(t.s);
    return err;
}

static uint32_t rnd(uint64_t *s, uint32_t n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s % n);
}

/* A mark to recode later the same day. */
typedef struct {
    int pupil;
    session_t sess;
    const char *code;
    int minutes;
} amend_t;

/* register_rows appends one session's register to t (recorded at hh:mm) and
 * queues its amendments: 5% absent (N, I, O; every N is explained later
 * that day, as offices do after their calls), 2% late (L), and 1% of the
 * rest corrected later, so about 3% of marks are amended. */
static void register_rows(const opts_t *o, uint64_t *rng, rc_date_t d, session_t sess, int hh,
                          int mm, bs_text_t *t, amend_t *am, size_t *nam, long *rows)
{
    char at[40], date[RC_DATE_STRLEN], upn[RC_UPN_LEN + 1];
    const char *present = sess == SESSION_AM ? "/" : "\\";
    local_at(d, hh, mm, at);
    date_format(d, date);
    for (int p = 0; p < o->pupils; p++) {
        uint32_t r = rnd(rng, 1000);
        const char *code = r < 20 ? "N" : r < 35 ? "I" : r < 50 ? "O" : r < 70 ? "L" : present;
        int minutes = r >= 50 && r < 70 ? 5 + (int)rnd(rng, 25) : 0;
        pupil_upn(p, upn);
        if (minutes)
            bs_text_add(t, "%s,%s,%s,%s,%s,%d,%s\n", BENCH_URN, upn, date, session_str(sess), code,
                        minutes, at);
        else
            bs_text_add(t, "%s,%s,%s,%s,%s,,%s\n", BENCH_URN, upn, date, session_str(sess), code,
                        at);
        (*rows)++;
        amend_t a = {.pupil = p, .sess = sess};
        if (r < 20)
            a.code = rnd(rng, 10) < 6 ? "I" : "O";
        else if (rnd(rng, 100) == 0)
            a.code = r >= 70 ? "L" : present;
        else
            continue;
        a.minutes = strcmp(a.code, "L") == 0 ? 10 : 0;
        am[(*nam)++] = a;
    }
}

/* amend_rows appends the day's amendments, recorded at hh:mm, to t. */
static void amend_rows(rc_date_t d, int hh, int mm, const amend_t *am, size_t nam, bs_text_t *t,
                       long *rows)
{
    char at[40], date[RC_DATE_STRLEN], upn[RC_UPN_LEN + 1], minutes[8];
    local_at(d, hh, mm, at);
    date_format(d, date);
    for (size_t i = 0; i < nam; i++) {
        pupil_upn(am[i].pupil, upn);
        snprintf(minutes, sizeof minutes, "%.0d", am[i].minutes);
        bs_text_add(t, "%s,%s,%s,%s,%s,%s,%s\n", BENCH_URN, upn, date, session_str(am[i].sess),
                    am[i].code, am[i].minutes ? minutes : "", at);
        (*rows)++;
    }
}

/* post_marks POSTs the rows of t (after a header line) in bodies of at most
 * batch rows, then empties t. */
static int post_marks(bench_t *b, bs_text_t *t, fill_t *f)
{
    static const char header[] = "urn,upn,date,session,code,minutes_late,recorded_at\n";
    bs_text_t body = {0};
    const char *p = t->s, *end = t->s + t->len;
    int err = 0;
    while (t->len && p < end && !err) {
        body.len = 0;
        bs_text_add(&body, "%s", header);
        for (int n = 0; n < b->o->batch && p < end; n++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
            bs_text_add(&body, "%.*s", (int)len, p);
            p += len;
        }
        err = body.s ? post_body(b, "/v1/marks", "text/csv", &body, f) : -1;
    }
    free(body.s);
    t->len = 0;
    return err;
}

/* post_tick moves ingest's replay clock to hh:mm on day d (London time). */
static int post_tick(bench_t *b, rc_date_t d, int hh, int mm, fill_t *f)
{
    char at[40];
    bs_text_t t = {0};
    local_at(d, hh, mm, at);
    bs_text_add(&t, "{\"now\": \"%s\"}", at);
    bs_resp_t r;
    int err = t.s ? bs_http_send(b->curl, "POST", b->url, "/v1/clock", "application/json", t.s,
                                 t.len, &r, 0)
                  : -1;
    if (err == 0 && r.status != 200) {
        fprintf(stderr, "bench_rules: POST /v1/clock answered %ld: %.300s\n", r.status,
                r.body ? r.body : "");
        err = -1;
    }
    if (err == 0) {
        free(r.body);
        f->ticks++;
    }
    free(t.s);
    return err;
}

/* fill_year sends the year in date order: each school day the morning
 * register (08:40), a tick at 09:30, the afternoon register (13:10) and the
 * day's amendments (14:30), a tick at 16:00. */
static int fill_year(bench_t *b, fill_t *f)
{
    const opts_t *o = b->o;
    rc_date_t first = 0, last = 0;
    calendar_t *cal = year_calendar(&first, &last);
    amend_t *am = calloc(2 * (size_t)o->pupils, sizeof *am);
    bs_text_t t = {0};
    uint64_t rng = 88172645463325252ULL;
    int err = -1;
    if (!cal || !am) {
        fprintf(stderr, "bench_rules: out of memory\n");
        goto out;
    }
    double t0 = bs_now_s();
    for (rc_date_t d = first; d <= last && !bs_stopping; d++) {
        unsigned open = calendar_open_mask(cal, d);
        if (!open)
            continue;
        size_t nam = 0;
        f->school_days++;
        if (open & SESS_AM) {
            register_rows(o, &rng, d, SESSION_AM, 8, 40, &t, am, &nam, &f->sent);
            f->open_sessions++;
        }
        if (post_marks(b, &t, f) != 0 || post_tick(b, d, 9, 30, f) != 0)
            goto out;
        if (open & SESS_PM) {
            register_rows(o, &rng, d, SESSION_PM, 13, 10, &t, am, &nam, &f->sent);
            f->open_sessions++;
        }
        amend_rows(d, 14, 30, am, nam, &t, &f->sent);
        f->amended += (long)nam;
        if (post_marks(b, &t, f) != 0 || post_tick(b, d, 16, 0, f) != 0)
            goto out;
        int y, m, dd;
        date_to_ymd(d, &y, &m, &dd);
        if (dd == 1 || f->school_days == 1)
            fprintf(stderr, "bench_rules:   %04d-%02d, %ld marks so far\n", y, m, f->sent);
    }
    f->seconds = bs_now_s() - t0;
    err = bs_stopping ? -1 : 0;
out:
    calendar_destroy(&cal);
    free(am);
    free(t.s);
    return err;
}

/* ---- rules catching up ---- */

/* One catch-up of rules from an empty state to the end of the log, and the
 * ceiling run after it. */
typedef struct {
    const char *fsync;                  /* "always" or "everysec" */
    double seconds;                     /* spawn to pos == the log's last seq */
    double cpu_rules;                   /* rules' user + system CPU over that time */
    double cpu_redis;                   /* redis-server's */
    long long entries;                  /* log entries applied */
    long long events;                   /* XLEN rs:outbox */
    long long aof_delta;                /* AOF bytes written */
    long long mem_delta;                /* used_memory growth */
    double ceil_rate;                   /* the ceiling: entries/s */
    double ceil_seconds;                /* its wall time */
    double ceil_commit_s;               /* of which waiting on its EXECs */
    long long ceil_commits, ceil_dated; /* its transactions; ticks that changed the date */
    double ceil_cpu_redis, ceil_cpu_bench;
    long long ceil_aof_delta;
    double probe_before, probe_after; /* one-command round trips/s around the pass */
} pass_t;

/* run_rules starts rules from an empty state and waits until its position
 * reaches the log's last sequence number, then stops it. */
static int run_rules(bench_t *b, long long last_seq, pass_t *ps)
{
    char logname[64];
    snprintf(logname, sizeof logname, "rules-%s.log", ps->fsync);
    long long mem0 = bs_redis_info(b->redis.c, "memory", "used_memory");
    long long aof0 = bs_redis_info(b->redis.c, "persistence", "aof_current_size");
    double cr0 = bs_proc_cpu_s(b->redis.pid);
    double t0 = bs_now_s(), next_note = t0 + 10;
    if (rules_start(b, logname) != 0)
        return -1;
    long long pos = 0;
    while (!bs_stopping) {
        pos = bs_redis_u64(b->redis.c, "HGET rs:school:{%s} pos", BENCH_URN);
        if (pos >= last_seq)
            break;
        if (pos < 0 || bs_exited(&b->rules_pid)) {
            fprintf(stderr, "bench_rules: rollcall-rules stopped at %lld of %lld (see %s/%s)\n",
                    pos, last_seq, b->dir, logname);
            return -1;
        }
        double t = bs_now_s();
        if (t >= next_note) {
            fprintf(stderr, "bench_rules:   %lld of %lld entries applied, %.0f/s\n", pos, last_seq,
                    (double)pos / (t - t0));
            next_note = t + 10;
        }
        bs_sleep_ms(20);
    }
    ps->seconds = bs_now_s() - t0;
    ps->cpu_rules = bs_proc_cpu_s(b->rules_pid);
    ps->cpu_redis = bs_proc_cpu_s(b->redis.pid) - cr0;
    ps->entries = pos;
    bs_stop(&b->rules_pid, 5000);
    ps->events = bs_redis_u64(b->redis.c, "XLEN rs:outbox:{%s}", BENCH_URN);
    ps->aof_delta = bs_redis_info(b->redis.c, "persistence", "aof_current_size") - aof0;
    ps->mem_delta = bs_redis_info(b->redis.c, "memory", "used_memory") - mem0;
    return bs_stopping ? -1 : 0;
}

/* probe returns one-command fsync'd round trips per second (INCR of a
 * scratch key, 200 times): what the disk allowed around a measurement. */
static double probe(bench_t *b)
{
    double t0 = bs_now_s();
    int n = 0;
    for (; n < 200 && !bs_stopping; n++) {
        redisReply *r = redisCommand(b->redis.c, "INCR rs:probe:{%s}", SCRATCH_TAG);
        int ok = r && r->type == REDIS_REPLY_INTEGER;
        freeReplyObject(r);
        if (!ok)
            return -1;
    }
    return (double)n / (bs_now_s() - t0);
}

/* ---- the Redis ceiling: rules' writes, without rules ---- */

/* One pupil hash as rules wrote it, whose fields and sizes the ceiling
 * replays; the slots blob grows with the marks held, as rules' does. */
typedef struct {
    char *fields[HASH_MAX_ARGS];
    size_t lens[HASH_MAX_ARGS];
    int n;            /* field, value, field, value... */
    size_t slots_len; /* the blob's length at the end of the year */
    int slots_marks;  /* marks it held then */
} sample_t;

static void sample_free(sample_t *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->fields[i]);
    memset(s, 0, sizeof *s);
}

/* sample_read reads pupil 0's hash (on roll all year: one mark a session). */
static int sample_read(bench_t *b, int open_sessions, sample_t *s)
{
    char upn[RC_UPN_LEN + 1];
    pupil_upn(0, upn);
    memset(s, 0, sizeof *s);
    redisReply *r = redisCommand(b->redis.c, "HGETALL rs:pupil:{%s}:%s", BENCH_URN, upn);
    int err = !r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ? -1 : 0;
    for (size_t i = 0; err == 0 && i + 1 < r->elements && s->n + 2 <= HASH_MAX_ARGS; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        if (strcmp(f->str, "slots") == 0) {
            s->slots_len = v->len;
            s->slots_marks = open_sessions;
            continue;
        }
        for (int k = 0; k < 2; k++) {
            const redisReply *e = k ? v : f;
            if (!(s->fields[s->n] = malloc(e->len + 1))) {
                err = -1;
                break;
            }
            memcpy(s->fields[s->n], e->str, e->len + 1);
            s->lens[s->n++] = e->len;
        }
    }
    freeReplyObject(r);
    if (err == 0 && !s->slots_len)
        err = -1;
    if (err != 0)
        fprintf(stderr, "bench_rules: could not read a pupil's state to replay\n");
    return err;
}

/* The ceiling's walk through the log. */
typedef struct {
    redisContext *rd, *wr; /* reads (XRANGE) and transactions, as rules has */
    const sample_t *sample;
    uint8_t *blob; /* zeros, as long as the longest blob */
    int npupils;
    int batch;            /* entries per MULTI/EXEC */
    int *marks;           /* per pupil: sessions held */
    rc_date_t *last_date; /* per pupil: its latest mark's session... */
    int *last_sess;       /* ...so an amendment is not counted as a new one */
    int *order, norder;   /* pupils with state, in the order they got it */
    rc_date_t today;      /* as rules keeps it */
    int minute;
    int open, queued;  /* entries and commands in the open MULTI */
    uint64_t last_seq; /* the last entry queued */
    long long entries, marks_n, ticks, dated, commits;
    double t_commit; /* time waiting on EXECs: Redis, fsync included */
    int failed;
} mirror_t;

/* queue_pupil appends HSET rs:pupil:{scratch}:<upn> (slots as long as the
 * pupil's blob now, then the sample's fields) and the SADD. */
static void queue_pupil(mirror_t *m, int p)
{
    const sample_t *s = m->sample;
    char key[64], upn[RC_UPN_LEN + 1];
    const char *argv[HASH_MAX_ARGS + 4];
    size_t argl[HASH_MAX_ARGS + 4];
    int argc = 0;
    pupil_upn(p, upn);
    snprintf(key, sizeof key, "rs:pupil:{%s}:%s", SCRATCH_TAG, upn);
    argv[argc] = "HSET", argl[argc++] = 4;
    argv[argc] = key, argl[argc++] = strlen(key);
    argv[argc] = "slots", argl[argc++] = 5;
    argv[argc] = (const char *)m->blob;
    argl[argc++] = 1 + (s->slots_len - 1) * (size_t)m->marks[p] / (size_t)s->slots_marks;
    for (int i = 0; i < s->n; i++)
        argv[argc] = s->fields[i], argl[argc++] = s->lens[i];
    redisAppendCommandArgv(m->wr, argc, argv, argl);
    redisAppendCommand(m->wr, "SADD rs:pupils:{%s} %s", SCRATCH_TAG, upn);
    m->queued += 2;
}

/* commit ends the open transaction as rules does, with the school's hash,
 * and reads every reply: one round trip. */
static int commit(mirror_t *m)
{
    char today[RC_DATE_STRLEN] = "";
    if (!m->open)
        return 0;
    if (m->today != RC_DATE_NONE)
        date_format(m->today, today);
    redisAppendCommand(m->wr, "HSET rs:school:{%s} pos %" PRIu64 " out 0 today %s minute %d",
                       SCRATCH_TAG, m->last_seq, today, m->minute);
    redisAppendCommand(m->wr, "EXEC");
    int ok = 1, n = m->queued + 3; /* MULTI, the commands, the school, EXEC */
    double t0 = bs_now_s();
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(m->wr, &r) != REDIS_OK) {
            ok = 0;
            break;
        }
        redisReply *rep = r;
        if (i == n - 1 && rep->type != REDIS_REPLY_ARRAY)
            ok = 0;
        freeReplyObject(r);
    }
    m->t_commit += bs_now_s() - t0;
    m->commits++;
    m->open = m->queued = 0;
    if (!ok)
        fprintf(stderr, "bench_rules: the ceiling's transaction failed: %s\n",
                m->wr->errstr[0] ? m->wr->errstr : "EXEC refused");
    return ok ? 0 : -1;
}

/* on_entry mirrors one log entry; a schoollog_entry_fn. */
static int on_entry(void *ctx, const char *urn, uint64_t seq, const uint8_t *env, size_t len)
{
    mirror_t *m = ctx;
    wire_msg_t msg;
    char why[CODEC_WHY_MAX];
    (void)urn;
    if (codec_decode(env, len, &msg, why) != RC_OK) {
        fprintf(stderr, "bench_rules: log entry %" PRIu64 " does not decode: %s\n", seq, why);
        m->failed = 1;
        return 1;
    }
    int p = msg.kind == WIRE_MARK ? upn_pupil(msg.u.mark.upn) : 0;
    if (p < 0 || p >= m->npupils) {
        fprintf(stderr, "bench_rules: log entry %" PRIu64 " names a pupil not the bench's\n", seq);
        m->failed = 1;
        return 1;
    }
    if (!m->open)
        redisAppendCommand(m->wr, "MULTI");
    if (msg.kind == WIRE_MARK) {
        if (m->today == RC_DATE_NONE)
            m->today = msg.u.mark.date;
        if (!m->marks[p] && !m->last_sess[p])
            m->order[m->norder++] = p;
        if (msg.u.mark.date > m->last_date[p] ||
            (msg.u.mark.date == m->last_date[p] && (int)msg.u.mark.session + 1 > m->last_sess[p])) {
            m->marks[p]++;
            m->last_date[p] = msg.u.mark.date;
            m->last_sess[p] = (int)msg.u.mark.session + 1;
        }
        m->marks_n++;
        queue_pupil(m, p);
    } else if (msg.kind == WIRE_TICK) {
        rc_date_t day = time_local_date(msg.u.tick.now, msg.u.tick.utc_offset_s);
        m->ticks++;
        m->minute = time_local_minute(msg.u.tick.now, msg.u.tick.utc_offset_s);
        if (day != m->today) { /* rules writes every pupil it holds */
            m->dated++;
            for (int i = 0; i < m->norder; i++)
                queue_pupil(m, m->order[i]);
        }
        m->today = day;
    }
    m->entries++;
    m->last_seq = seq;
    if (++m->open >= m->batch && commit(m) != 0) {
        m->failed = 1;
        return 1;
    }
    return 0;
}

/* ceiling replays, for the whole log, what rules writes on scratch keys of
 * the same Redis, over two connections as rules: the log read in XRANGE
 * batches of FEED_BATCH, as rules' feed reads it, and decoded; per mark the
 * pupil's HSET (its slots blob as long as rules' is at that point of the
 * year) and SADD, per tick that changes the date every pupil's HSET and SADD;
 * batch entries per MULTI ... HSET school EXEC, one round trip each. Not
 * replayed: the policy's events (XADD, RPUSH), the few pupils a same-day tick
 * rewrites, and rules' first read of each pupil. */
static int ceiling(bench_t *b, const sample_t *sample, int npupils, int batch, pass_t *ps)
{
    mirror_t m = {.sample = sample, .npupils = npupils, .batch = batch, .today = RC_DATE_NONE};
    int err = -1;
    struct timeval tv = {30, 0};
    m.rd = redisConnectWithTimeout("127.0.0.1", b->redis.port, tv);
    m.wr = redisConnectWithTimeout("127.0.0.1", b->redis.port, tv);
    m.blob = calloc(1, sample->slots_len);
    m.marks = calloc((size_t)npupils, sizeof *m.marks);
    m.last_date = calloc((size_t)npupils, sizeof *m.last_date);
    m.last_sess = calloc((size_t)npupils, sizeof *m.last_sess);
    m.order = calloc((size_t)npupils, sizeof *m.order);
    if (!m.rd || m.rd->err || !m.wr || m.wr->err || !m.blob || !m.marks || !m.last_date ||
        !m.last_sess || !m.order) {
        fprintf(stderr, "bench_rules: ceiling: no Redis connection or out of memory\n");
        goto out;
    }
    redisSetTimeout(m.rd, tv);
    redisSetTimeout(m.wr, tv);
    long long aof0 = bs_redis_info(b->redis.c, "persistence", "aof_current_size");
    double cr0 = bs_proc_cpu_s(b->redis.pid), cb0 = bs_self_cpu_s(), t0 = bs_now_s();
    uint64_t after = 0;
    for (;;) {
        size_t n = 0;
        rc_err_t e = schoollog_read(m.rd, BENCH_URN, after, FEED_BATCH, on_entry, &m, &n);
        if (e != RC_OK || m.failed || bs_stopping) {
            if (!m.failed && !bs_stopping)
                fprintf(stderr, "bench_rules: ceiling: reading the log failed\n");
            goto out;
        }
        after += n;
        if (n < FEED_BATCH)
            break;
    }
    if (commit(&m) != 0) /* the last run, as rules_flush */
        goto out;
    ps->ceil_seconds = bs_now_s() - t0;
    ps->ceil_cpu_redis = bs_proc_cpu_s(b->redis.pid) - cr0;
    ps->ceil_cpu_bench = bs_self_cpu_s() - cb0;
    ps->ceil_aof_delta = bs_redis_info(b->redis.c, "persistence", "aof_current_size") - aof0;
    ps->ceil_commit_s = m.t_commit;
    ps->ceil_commits = m.commits;
    ps->ceil_dated = m.dated;
    ps->ceil_rate = ps->ceil_seconds > 0 ? (double)m.entries / ps->ceil_seconds : -1;
    err = 0;
out:
    if (m.rd)
        redisFree(m.rd);
    if (m.wr)
        redisFree(m.wr);
    redis_unlink_matching(b->redis.c, "rs:*{" SCRATCH_TAG "}*");
    free(m.blob);
    free(m.marks);
    free(m.last_date);
    free(m.last_sess);
    free(m.order);
    return err;
}

/* ---- Redis bytes per pupil ---- */

typedef struct {
    long long fill_delta;           /* used_memory growth while ingest filled the log */
    long long log_bytes;            /* MEMORY USAGE rc:log:{urn} */
    long long mv_bytes, mv_n;       /* rc:mv:{urn}:* (every version of each mark) */
    long long pupil_bytes, pupil_n; /* rs:pupil:{urn}:* */
    long long hist_bytes, hist_n;   /* rs:hist:{urn}:* */
    long long facts_bytes, facts_n; /* rs:facts:{urn}:* */
    long long outbox_bytes;         /* rs:outbox:{urn} */
    long long school_bytes;         /* rs:school, rs:pupils */
    long long slots_len;            /* pupil 0's slots blob */
    char pupil_encoding[32];        /* OBJECT ENCODING of a pupil's hash */
} memory_t;

/* usage_of sums MEMORY USAGE over the keys matching pattern. */
static long long usage_of(bench_t *b, const char *pattern, long long *nkeys)
{
    keys_t k;
    if (redis_scan(b->redis.c, pattern, &k) != 0)
        return -1;
    long long sum = redis_memory_usage(b->redis.c, &k);
    if (nkeys)
        *nkeys = (long long)k.n;
    keys_free(&k);
    return sum;
}

static void measure_memory(bench_t *b, const sample_t *sample, memory_t *mem)
{
    char pat[64], upn[RC_UPN_LEN + 1];
    snprintf(pat, sizeof pat, "rc:mv:{%s}:*", BENCH_URN);
    mem->mv_bytes = usage_of(b, pat, &mem->mv_n);
    snprintf(pat, sizeof pat, "rs:pupil:{%s}:*", BENCH_URN);
    mem->pupil_bytes = usage_of(b, pat, &mem->pupil_n);
    snprintf(pat, sizeof pat, "rs:hist:{%s}:*", BENCH_URN);
    mem->hist_bytes = usage_of(b, pat, &mem->hist_n);
    snprintf(pat, sizeof pat, "rs:facts:{%s}:*", BENCH_URN);
    mem->facts_bytes = usage_of(b, pat, &mem->facts_n);
    mem->log_bytes = bs_redis_u64(b->redis.c, "MEMORY USAGE rc:log:{%s} SAMPLES 0", BENCH_URN);
    mem->outbox_bytes =
        bs_redis_u64(b->redis.c, "MEMORY USAGE rs:outbox:{%s} SAMPLES 0", BENCH_URN);
    mem->school_bytes =
        bs_redis_u64(b->redis.c, "MEMORY USAGE rs:school:{%s} SAMPLES 0", BENCH_URN) +
        bs_redis_u64(b->redis.c, "MEMORY USAGE rs:pupils:{%s} SAMPLES 0", BENCH_URN);
    mem->slots_len = (long long)sample->slots_len;
    pupil_upn(0, upn);
    redisReply *r = redisCommand(b->redis.c, "OBJECT ENCODING rs:pupil:{%s}:%s", BENCH_URN, upn);
    snprintf(mem->pupil_encoding, sizeof mem->pupil_encoding, "%s",
             r && r->type == REDIS_REPLY_STRING ? r->str : "?");
    freeReplyObject(r);
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(
        stderr,
        "usage: bench_rules [--pupils N] [--rounds R] [--batch B] [--ceiling-batch E]\n"
        "                   [--policy NAME] [--no-everysec] [--rules PATH] [--ingest PATH]\n"
        "                   [--policies-dir DIR] [--keep]\n"
        "  --pupils N        pupils in the school (default 1000)\n"
        "  --rounds R        catch-ups and ceilings per fsync setting, best reported (1..5; 1)\n"
        "  --batch B         most marks per POST while filling the log (default 5000)\n"
        "  --ceiling-batch E log entries per MULTI/EXEC in the ceiling (default %d, rules'\n"
        "                    RULES_BATCH; 1 = a transaction per entry)\n"
        "  --policy NAME     the school's policy (default 004_hcat)\n"
        "  --no-everysec     skip the second pass with appendfsync everysec\n"
        "  --rules PATH      rollcall-rules (default %s/services/rollcall-rules)\n"
        "  --ingest PATH     rollcall-ingest (default %s/services/rollcall-ingest)\n"
        "  --policies-dir D  policy files (default %s/policies)\n"
        "  --keep            keep the temp dir (AOF, logs) and print where it is\n"
        "needs redis-server (7 or later) on PATH\n",
        RULES_BATCH, ROLLCALL_BINARY_DIR, ROLLCALL_BINARY_DIR, ROLLCALL_SOURCE_DIR);
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){
        .pupils = 1000, .batch = 5000, .everysec = 1, .rounds = 1, .ceiling_batch = RULES_BATCH};
    snprintf(o->rules, sizeof o->rules, "%s/services/rollcall-rules", ROLLCALL_BINARY_DIR);
    snprintf(o->ingest, sizeof o->ingest, "%s/services/rollcall-ingest", ROLLCALL_BINARY_DIR);
    snprintf(o->policies_dir, sizeof o->policies_dir, "%s/policies", ROLLCALL_SOURCE_DIR);
    snprintf(o->policy, sizeof o->policy, "004_hcat");
    for (int i = 1; i < argc; i++) {
        long v = 0;
        const char *a = argv[i];
        char *path = strcmp(a, "--rules") == 0          ? o->rules
                     : strcmp(a, "--ingest") == 0       ? o->ingest
                     : strcmp(a, "--policies-dir") == 0 ? o->policies_dir
                     : strcmp(a, "--policy") == 0       ? o->policy
                                                        : NULL;
        if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
        } else if (strcmp(a, "--no-everysec") == 0) {
            o->everysec = 0;
        } else if (path && i + 1 < argc) {
            size_t cap = path == o->policy ? sizeof o->policy : BS_PATH_MAX;
            if (strlen(argv[i + 1]) >= cap)
                return -1;
            snprintf(path, cap, "%s", argv[++i]);
        } else if (strcmp(a, "--pupils") == 0 && (v = bs_parse_long(argc, argv, i, 1, 99999)) > 0) {
            o->pupils = (int)v;
            i++;
        } else if (strcmp(a, "--batch") == 0 && (v = bs_parse_long(argc, argv, i, 1, 100000)) > 0) {
            o->batch = (int)v;
            i++;
        } else if (strcmp(a, "--ceiling-batch") == 0 &&
                   (v = bs_parse_long(argc, argv, i, 1, 100000)) > 0) {
            o->ceiling_batch = (int)v;
            i++;
        } else if (strcmp(a, "--rounds") == 0 &&
                   (v = bs_parse_long(argc, argv, i, 1, ROUNDS_MAX)) > 0) {
            o->rounds = (int)v;
            i++;
        } else {
            return -1;
        }
    }
    return 0;
}

static void print_rate(const char *what, double v, const char *unit)
{
    if (v < 0)
        printf("  %-54s %12s\n", what, "n/a");
    else
        printf("  %-54s %12.0f %s\n", what, v, unit);
}

static double rules_rate(const pass_t *ps)
{
    return ps->seconds > 0 ? (double)ps->entries / ps->seconds : -1;
}

/* report_mode prints one appendfsync setting's figures: over several rounds,
 * the best catch-up and the best ceiling (the disk's noise only slows). */
static void report_mode(const pass_t *runs, int nrounds, const fill_t *f)
{
    const pass_t *r = &runs[0], *c = &runs[0];
    for (int i = 1; i < nrounds; i++) {
        r = rules_rate(&runs[i]) > rules_rate(r) ? &runs[i] : r;
        c = runs[i].ceil_rate > c->ceil_rate ? &runs[i] : c;
    }
    double rate = rules_rate(r), e = (double)r->entries;
    printf("\nappendfsync %s%s", r->fsync, strcmp(r->fsync, "always") == 0 ? " (production)" : "");
    if (nrounds > 1)
        printf(", best of %d rounds", nrounds);
    printf("\n");
    print_rate("rules: log entries/s applied, empty state to caught up", rate, "entries/s");
    print_rate("  marks/s applied (marks in the log / catch-up time)",
               r->seconds > 0 ? (double)f->accepted / r->seconds : -1, "marks/s");
    printf("  %-54s %12.1f s for %lld entries\n", "  catch-up wall time (from spawn)", r->seconds,
           r->entries);
    printf("  %-54s %12lld\n", "  events written (XLEN rs:outbox)", r->events);
    printf("  %-54s %8.1f / %.1f s (%.0f%% / %.0f%% of wall)\n", "  CPU: rules / redis-server",
           r->cpu_rules, r->cpu_redis, 100 * r->cpu_rules / r->seconds,
           100 * r->cpu_redis / r->seconds);
    printf("  %-54s %8.0f / %.0f / %.0f us\n", "  per entry: wall / rules CPU / redis CPU",
           1e6 * r->seconds / e, 1e6 * r->cpu_rules / e, 1e6 * r->cpu_redis / e);
    printf("  %-54s %12.0f bytes\n", "  AOF written per entry", (double)r->aof_delta / e);
    print_rate("Redis ceiling: rules' writes replayed from its log", c->ceil_rate, "entries/s");
    printf("  %-54s %12.1f s (%lld transactions, waiting on EXEC %.1f s)\n", "  ceiling wall time",
           c->ceil_seconds, c->ceil_commits, c->ceil_commit_s);
    printf("  %-54s %8.0f / %.0f / %.0f us\n", "  per entry: wall / redis CPU / bench CPU",
           1e6 * c->ceil_seconds / e, 1e6 * c->ceil_cpu_redis / e, 1e6 * c->ceil_cpu_bench / e);
    printf("  %-54s %12.0f bytes\n", "  AOF written per entry", (double)c->ceil_aof_delta / e);
    if (c->ceil_rate > 0 && rate > 0)
        printf("  %-54s %12.2f\n", "ratio rules / ceiling", rate / c->ceil_rate);
    for (int i = 0; i < nrounds; i++) {
        char label[64];
        snprintf(label, sizeof label, "round %d: rules / ceiling entries/s", i + 1);
        if (nrounds > 1)
            printf("  %-54s %6.0f / %.0f\n", label, rules_rate(&runs[i]), runs[i].ceil_rate);
        snprintf(label, sizeof label, "%sdisk probe: fsync'd INCRs/s before / after",
                 nrounds > 1 ? "  " : "");
        printf("  %-54s %6.0f / %.0f\n", label, runs[i].probe_before, runs[i].probe_after);
    }
}

static void report(bench_t *b, const fill_t *f, pass_t runs[][ROUNDS_MAX], int nmodes,
                   const memory_t *mem)
{
    const opts_t *o = b->o;
    char model[128], rver[32];
    struct utsname u;
    bs_cpu_model(model, sizeof model);
    uname(&u);
    bs_redis_info_str(b->redis.c, "server", "redis_version", rver, sizeof rver);
    long long entries = runs[0][0].entries;
    printf("\nbench_rules: 1 school (%s) x %d pupils, 2025-26: %d school days, %d open sessions; "
           "%ld marks (%ld amendments) and %ld ticks -> a log of %lld entries\n",
           o->policy, o->pupils, f->school_days, f->open_sessions, f->sent, f->amended, f->ticks,
           entries);
    printf("machine: %ld CPUs, %s, %s %s; redis %s (appendonly yes, automatic AOF rewrite off)\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, u.sysname, u.release, rver);
    printf("rules built with RULES_BATCH %d (log entries per MULTI/EXEC); ceiling: XRANGE %d, "
           "decode, per mark HSET pupil + SADD, per date-changing tick every pupil's, %d entries "
           "per MULTI ... HSET school EXEC; no events\n\n",
           RULES_BATCH, FEED_BATCH, o->ceiling_batch);
    print_rate("fill through ingest (context): marks/s, fsync always",
               f->seconds > 0 ? (double)f->sent / f->seconds : -1, "marks/s");
    printf("  %-54s %12ld / %ld / %ld / %ld\n", "  accepted / duplicates / superseded / rejected",
           f->accepted, f->duplicates, f->superseded, f->rejected);
    for (int i = 0; i < nmodes; i++)
        report_mode(runs[i], b->o->rounds, f);

    double n = (double)o->pupils;
    printf("\nRedis bytes per pupil, a full year (%d pupils, MEMORY USAGE ... SAMPLES 0)\n",
           o->pupils);
    printf("  %-54s %12.0f bytes (%lld keys, %s)\n", "rules: rs:pupil hash, mean",
           mem->pupil_n ? (double)mem->pupil_bytes / (double)mem->pupil_n : 0.0, mem->pupil_n,
           mem->pupil_encoding);
    printf("  %-54s %12lld bytes\n", "  of which the slots blob (pupil 0)", mem->slots_len);
    printf("  %-54s %12.0f bytes (%lld pupils have one)\n", "rules: rs:hist list, per pupil",
           (double)mem->hist_bytes / n, mem->hist_n);
    printf("  %-54s %12.0f bytes (%lld pupils have one)\n", "rules: rs:facts list, per pupil",
           (double)mem->facts_bytes / n, mem->facts_n);
    printf("  %-54s %12.0f bytes\n", "rules: rs:outbox stream, per pupil",
           (double)mem->outbox_bytes / n);
    double rules_keys = (double)(mem->pupil_bytes + mem->hist_bytes + mem->facts_bytes +
                                 mem->outbox_bytes + mem->school_bytes);
    printf("  %-54s %12.0f bytes\n", "rules: every rs: key of the school, per pupil",
           rules_keys / n);
    printf("  %-54s %12.0f bytes\n", "rules: used_memory delta over the catch-up / pupils",
           (double)runs[0][0].mem_delta / n);
    printf("  %-54s %12.0f bytes\n", "ingest: rc:log stream, per pupil",
           (double)mem->log_bytes / n);
    printf("  %-54s %12.0f bytes\n", "ingest: rc:mv hash (mark versions), per pupil",
           (double)mem->mv_bytes / n);
    printf("  %-54s %12.0f bytes\n", "ingest: used_memory delta over the fill / pupils",
           (double)mem->fill_delta / n);
}

int main(int argc, char **argv)
{
    opts_t o;
    bench_t b = {.o = &o};
    fill_t fill = {0};
    static pass_t runs[2][ROUNDS_MAX];
    memory_t mem = {0};
    sample_t sample = {0};
    int status = EXIT_FAILURE;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return EXIT_SUCCESS;
    }
    if (parse_opts(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    if (bs_find_program("redis-server", b.redis.server) != 0) {
        fprintf(stderr, "bench_rules: redis-server must be on PATH "
                        "(Debian/Ubuntu: apt-get install redis-server)\n");
        return EXIT_FAILURE;
    }
    const char *need[][2] = {{o.rules, "rollcall-rules"}, {o.ingest, "rollcall-ingest"}};
    for (size_t i = 0; i < 2; i++)
        if (access(need[i][0], X_OK) != 0) {
            fprintf(stderr, "bench_rules: no %s at %s: build it (--target %s) or pass --%s PATH\n",
                    need[i][1], need[i][0], need[i][1], need[i][1] + 8);
            return EXIT_FAILURE;
        }
    char policy_file[BS_PATH_MAX + 80];
    snprintf(policy_file, sizeof policy_file, "%s/%s.yaml", o.policies_dir, o.policy);
    if (access(policy_file, R_OK) != 0) {
        fprintf(stderr, "bench_rules: no policy file %s (see --policies-dir, --policy)\n",
                policy_file);
        return EXIT_FAILURE;
    }
    int nmodes = o.everysec ? 2 : 1;
    bs_catch_signals();

    if (bs_make_temp_dir(b.dir) != 0) {
        fprintf(stderr, "bench_rules: mkdtemp %s: %s\n", b.dir, strerror(errno));
        return EXIT_FAILURE;
    }
    snprintf(b.redis.dir, sizeof b.redis.dir, "%s", b.dir);
    b.redis.port = bs_free_port();
    b.http_port = bs_free_port();
    b.ingest_pub_port = bs_free_port();
    b.rules_pub_port = bs_free_port();
    snprintf(b.url, sizeof b.url, "http://127.0.0.1:%d", b.http_port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (b.redis.port < 0 || b.http_port < 0 || b.ingest_pub_port < 0 || b.rules_pub_port < 0 ||
        !(b.curl = curl_easy_init())) {
        fprintf(stderr, "bench_rules: no free loopback port, or libcurl failed\n");
        goto out;
    }
    curl_easy_setopt(b.curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(b.curl, CURLOPT_TCP_NODELAY, 1L);
    fprintf(stderr, "bench_rules: redis-server on %d, rollcall-ingest on %d, in %s\n", b.redis.port,
            b.http_port, b.dir);
    if (bs_redis_start(&b.redis, "always") != 0 ||
        bs_ingest_start(o.ingest, b.dir, b.redis.port, b.http_port, b.ingest_pub_port, b.curl,
                        &b.ingest_pid) != 0)
        goto out;

    fprintf(stderr, "bench_rules: loading 1 school (%s), %d pupils, and filling its year\n",
            o.policy, o.pupils);
    long long mem0 = bs_redis_info(b.redis.c, "memory", "used_memory");
    if (load_reference(&b) != 0 || fill_year(&b, &fill) != 0)
        goto out;
    mem.fill_delta = bs_redis_info(b.redis.c, "memory", "used_memory") - mem0;
    long long last_seq = bs_redis_u64(b.redis.c, "GET rc:seq:{%s}", BENCH_URN);
    if (last_seq <= 0) {
        fprintf(stderr, "bench_rules: the school's log is empty\n");
        goto out;
    }
    bs_stop(&b.ingest_pid, 5000); /* idle from here; nothing else should move */

    static const char *const modes[] = {"always", "everysec"};
    for (int i = 0; i < nmodes; i++)
        for (int k = 0; k < o.rounds; k++) {
            pass_t *ps = &runs[i][k];
            ps->fsync = modes[i];
            if (i > 0 || k > 0) { /* back to an empty rules state */
                redisReply *r = redisCommand(b.redis.c, "CONFIG SET appendfsync %s", ps->fsync);
                int ok = r && r->type == REDIS_REPLY_STATUS;
                freeReplyObject(r);
                char pat[64];
                snprintf(pat, sizeof pat, "rs:*{%s}*", BENCH_URN);
                if (!ok || redis_unlink_matching(b.redis.c, pat) != 0) {
                    fprintf(stderr, "bench_rules: could not reset Redis for the %s pass\n",
                            ps->fsync);
                    goto out;
                }
            }
            fprintf(stderr,
                    "bench_rules: rollcall-rules catching up %lld entries (appendfsync %s)\n",
                    last_seq, ps->fsync);
            ps->probe_before = probe(&b);
            if (run_rules(&b, last_seq, ps) != 0)
                goto out;
            if (i == 0 && k == 0) {
                if (sample_read(&b, fill.open_sessions, &sample) != 0)
                    goto out;
                fprintf(stderr, "bench_rules: measuring memory\n");
                measure_memory(&b, &sample, &mem);
            }
            fprintf(stderr, "bench_rules: the Redis ceiling for the same writes\n");
            if (ceiling(&b, &sample, o.pupils, o.ceiling_batch, ps) != 0)
                goto out;
            ps->probe_after = probe(&b);
            fprintf(stderr, "bench_rules:   rules %.0f entries/s, ceiling %.0f entries/s\n",
                    rules_rate(ps), ps->ceil_rate);
        }
    report(&b, &fill, runs, nmodes, &mem);
    status = EXIT_SUCCESS;
out:
    sample_free(&sample);
    if (b.curl)
        curl_easy_cleanup(b.curl);
    curl_global_cleanup();
    bs_stop(&b.rules_pid, 5000);
    bs_stop(&b.ingest_pid, 5000);
    bs_redis_stop(&b.redis);
    if (o.keep)
        fprintf(stderr, "bench_rules: kept %s\n", b.dir);
    else
        bs_remove_tree(b.dir);
    return status;
}
