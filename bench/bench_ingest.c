/* bench_ingest.c - ingest's accepted marks/s end to end, beside the Redis and ZeroMQ ceilings. */

/* Starts its own redis-server (AOF, fsync always) and rollcall-ingest in a temp dir, loads
 * schools, calendars and pupils through the API, POSTs a year's register marks as CSV over one
 * keep-alive connection (HTTP parse, validation, durable FCALL, publish), then measures
 * redis-benchmark on the same commands at the same pipeline depth and a ZeroMQ PUB->SUB loop.
 * Prints its figures; asserts none. Usage: bench_ingest --help. */
#include <curl/curl.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "benchsupport.h"
#include "rollcall/calendar.h"
#include "rollcall/date.h"
#include "rollcall/ids.h"

#ifndef ROLLCALL_BINARY_DIR
#define ROLLCALL_BINARY_DIR "."
#endif

#define URN_BASE 100001

/* What the run was asked for. */
typedef struct {
    long marks;   /* marks to POST */
    int pupils;   /* pupils per school */
    int schools;  /* schools */
    int batch;    /* rows per POST, and redis-benchmark's -P */
    long redis_n; /* requests per redis-benchmark run */
    long zmq_n;   /* messages for the ZeroMQ ceiling */
    int keep;     /* leave the temp dir (logs, AOF) behind */
    char ingest[BS_PATH_MAX];
} opts_t;

/* The run's processes, ports and connections. */
typedef struct {
    const opts_t *o;
    char dir[BS_PATH_MAX]; /* temp dir: AOF, logs */
    char redis_benchmark[BS_PATH_MAX];
    bs_redis_t redis; /* AOF, fsync always; its connection is the bench's own, for INFO */
    int http_port, pub_port;
    pid_t ingest_pid;
    CURL *curl; /* one handle: one keep-alive connection */
    char url[64];
    void *zctx, *sub;
} bench_t;

/* post_csv POSTs a reference-data CSV and requires every row accepted. */
static int post_csv(bench_t *b, const char *path, const char *csv)
{
    bs_resp_t r;
    if (bs_http_send(b->curl, "POST", b->url, path, "text/csv", csv, strlen(csv), &r, 0) != 0)
        return -1;
    int ok = r.status == 200 && r.body && strstr(r.body, "\"rejected_rows\":0");
    if (!ok)
        fprintf(stderr, "bench_ingest: POST %s answered %ld: %.400s\n", path, r.status,
                r.body ? r.body : "");
    free(r.body);
    return ok ? 0 : -1;
}

/* ---- the data ---- */

/* The year's terms (England, 2025/26) and one bank holiday closure. */
static const char *const terms[][2] = {
    {"2025-09-01", "2025-10-24"}, {"2025-11-03", "2025-12-19"}, {"2026-01-05", "2026-02-13"},
    {"2026-02-23", "2026-03-27"}, {"2026-04-13", "2026-05-22"}, {"2026-06-01", "2026-07-22"},
};
static const char *const bank_holiday = "2026-05-04";

static void school_urn(int s, char urn[RC_URN_LEN + 1])
{
    snprintf(urn, RC_URN_LEN + 1, "%06u", (unsigned)(URN_BASE + s) % 1000000u);
}

/* pupil_upn writes school s's pupil p's UPN: LA 909, establishment 2000+s,
 * a 5-digit serial, and its check letter in front. */
static void pupil_upn(int s, int p, char upn[RC_UPN_LEN + 1])
{
    snprintf(upn + 1, RC_UPN_LEN, "909%04u%05u", (unsigned)(2000 + s) % 10000u,
             (unsigned)p % 100000u);
    upn[0] = upn_check_letter(upn + 1);
}

/* load_reference POSTs the schools, their calendars and pupils through the API. */
static int load_reference(bench_t *b)
{
    const opts_t *o = b->o;
    bs_text_t t = {0};
    char urn[RC_URN_LEN + 1], upn[RC_UPN_LEN + 1];
    int err = -1;
    bs_text_add(&t, "urn,name,la_code,trust_id,policy\n");
    for (int s = 0; s < o->schools; s++) {
        school_urn(s, urn);
        bs_text_add(&t, "%s,Bench School %d,909,T1,000_flowchart\n", urn, s + 1);
    }
    if (!t.s || post_csv(b, "/v1/schools", t.s) != 0)
        goto out;
    t.len = 0;
    bs_text_add(&t, "urn,kind,from,to,session\n");
    for (int s = 0; s < o->schools; s++) {
        school_urn(s, urn);
        for (size_t i = 0; i < sizeof terms / sizeof *terms; i++)
            bs_text_add(&t, "%s,term,%s,%s,\n", urn, terms[i][0], terms[i][1]);
        bs_text_add(&t, "%s,closure,%s,%s,ALL\n", urn, bank_holiday, bank_holiday);
    }
    if (!t.s || post_csv(b, "/v1/calendar", t.s) != 0)
        goto out;
    for (int s = 0; s < o->schools; s++) {
        school_urn(s, urn);
        for (int p = 0; p < o->pupils; p += 5000) { /* keep each body modest */
            t.len = 0;
            bs_text_add(&t, "urn,upn,forename,surname,year_group,date_of_birth,on_roll_from,"
                            "on_roll_to,sen,fsm,eal,cla,social_worker\n");
            for (int q = p; q < o->pupils && q < p + 5000; q++) {
                pupil_upn(s, q, upn);
                bs_text_add(&t, "%s,%s,Ann,Smith,%d,%d-03-02,2025-09-01,,N,%c,N,N,N\n", urn, upn,
                            1 + q % 6, 2019 - q % 6, q % 5 ? 'N' : 'Y');
            }
            if (!t.s || post_csv(b, "/v1/pupils", t.s) != 0)
                goto out;
        }
    }
    err = 0;
out:
    free(t.s);
    return err;
}

/* Marks in register order: each open session of the year, each school, each pupil. */
typedef struct {
    rc_date_t *dates; /* open (date, session) slots */
    session_t *sessions;
    size_t nslots;
    size_t slot;
    int school, pupil;
    uint64_t rng;
} gen_t;

/* gen_init lists the open sessions of the bench calendar; returns 0 or -1. */
static int gen_init(gen_t *g)
{
    memset(g, 0, sizeof *g);
    g->rng = 88172645463325252ULL;
    calendar_t *cal = calendar_new();
    rc_date_t from, to, first = 0, last = 0;
    if (!cal)
        return -1;
    for (size_t i = 0; i < sizeof terms / sizeof *terms; i++) {
        date_parse(terms[i][0], 10, &from);
        date_parse(terms[i][1], 10, &to);
        calendar_add_term(cal, from, to);
        first = i == 0 ? from : first;
        last = to;
    }
    date_parse(bank_holiday, 10, &from);
    calendar_add_closure(cal, from, from, SESS_ALL);
    size_t cap = 2 * (size_t)(last - first + 1);
    g->dates = malloc(cap * sizeof *g->dates);
    g->sessions = malloc(cap * sizeof *g->sessions);
    for (rc_date_t d = first; g->dates && g->sessions && d <= last; d++)
        for (int s = 0; s < 2; s++)
            if (calendar_is_open(cal, d, (session_t)s)) {
                g->dates[g->nslots] = d;
                g->sessions[g->nslots++] = (session_t)s;
            }
    calendar_destroy(&cal);
    return g->dates && g->sessions ? 0 : -1;
}

static void gen_free(gen_t *g)
{
    free(g->dates);
    free(g->sessions);
}

static uint32_t gen_rnd(gen_t *g, uint32_t n)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return (uint32_t)(g->rng % n);
}

/* gen_batch appends up to n marks as CSV rows (after a header) to t;
 * returns how many, 0 when the year is used up. */
static int gen_batch(gen_t *g, const opts_t *o, int n, bs_text_t *t)
{
    char urn[RC_URN_LEN + 1], upn[RC_UPN_LEN + 1], date[RC_DATE_STRLEN];
    int rows = 0;
    bs_text_add(t, "urn,upn,date,session,code,minutes_late,recorded_at\n");
    while (rows < n && g->slot < g->nslots) {
        session_t sess = g->sessions[g->slot];
        date_format(g->dates[g->slot], date);
        school_urn(g->school, urn);
        pupil_upn(g->school, g->pupil, upn);
        uint32_t r = gen_rnd(g, 100);
        const char *code = r < 4                ? "I"
                           : r < 6              ? "N"
                           : r < 7              ? "L"
                           : sess == SESSION_AM ? "/"
                                                : "\\";
        bs_text_add(t, "%s,%s,%s,%s,%s,%s,%sT%s:00Z\n", urn, upn, date, session_str(sess), code,
                    r == 6 ? "12" : "", date, sess == SESSION_AM ? "08:40" : "13:10");
        rows++;
        if (++g->pupil == o->pupils) {
            g->pupil = 0;
            if (++g->school == o->schools) {
                g->school = 0;
                g->slot++;
            }
        }
    }
    return rows;
}

/* ---- the marks run ---- */

/* Figures of the marks run. */
typedef struct {
    long sent, accepted, duplicates, rejected, published_seen;
    long requests;
    long connections; /* new HTTP connections while POSTing (0: the one kept alive) */
    double seconds, p50_ms, p99_ms, max_ms;
    double cpu_ingest, cpu_redis, cpu_bench; /* CPU seconds during the run */
    long long mem_delta, aof_delta;
    size_t envelope_len;
} run_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* sub_drain counts complete published messages waiting on the SUB socket,
 * waiting up to idle_ms for each one after the first (0: only what is there). */
static long sub_drain(bench_t *b, int idle_ms)
{
    long n = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, b->sub, ZMQ_DONTWAIT);
        if (rc < 0) {
            zmq_msg_close(&m);
            zmq_pollitem_t it = {.socket = b->sub, .events = ZMQ_POLLIN};
            if (idle_ms > 0 && zmq_poll(&it, 1, idle_ms) > 0)
                continue;
            return n;
        }
        if (!zmq_msg_more(&m))
            n++;
        zmq_msg_close(&m);
    }
}

/* json_count reads an integer field of an ingest answer (0 when absent). */
static long json_count(json_t *j, const char *key)
{
    return (long)json_integer_value(json_object_get(j, key));
}

/* run_marks generates the marks and POSTs them batch by batch, timing the
 * whole loop (the bodies are made first so the bench's own work stays out). */
static int run_marks(bench_t *b, run_t *run)
{
    const opts_t *o = b->o;
    gen_t g = {0};
    long nbatches = (o->marks + o->batch - 1) / o->batch;
    bs_text_t *bodies = calloc((size_t)nbatches, sizeof *bodies);
    int *rows = calloc((size_t)nbatches, sizeof *rows);
    double *lat = calloc((size_t)nbatches, sizeof *lat);
    int err = -1, complained = 0;
    if (!bodies || !rows || !lat || gen_init(&g) != 0) {
        fprintf(stderr, "bench_ingest: out of memory\n");
        goto out;
    }
    long made = 0;
    for (long i = 0; i < nbatches; i++) {
        int want = o->marks - made < o->batch ? (int)(o->marks - made) : o->batch;
        rows[i] = gen_batch(&g, o, want, &bodies[i]);
        made += rows[i];
        if (!bodies[i].s) {
            fprintf(stderr, "bench_ingest: out of memory\n");
            goto out;
        }
        if (rows[i] < want) {
            nbatches = rows[i] ? i + 1 : i;
            fprintf(stderr,
                    "bench_ingest: the year holds %zu open sessions x %d pupils x %d schools = "
                    "%ld marks; sending those (raise --pupils or --schools for more)\n",
                    g.nslots, o->pupils, o->schools, made);
            break;
        }
    }

    long long mem0 = bs_redis_info(b->redis.c, "memory", "used_memory");
    long long aof0 = bs_redis_info(b->redis.c, "persistence", "aof_current_size");
    double ci0 = bs_proc_cpu_s(b->ingest_pid), cr0 = bs_proc_cpu_s(b->redis.pid),
           cb0 = bs_self_cpu_s();
    long conns = 0;
    double t0 = bs_now_s();
    for (long i = 0; i < nbatches && !bs_stopping; i++) {
        bs_resp_t r;
        double t1 = bs_now_s();
        if (bs_http_send(b->curl, "POST", b->url, "/v1/marks", "text/csv", bodies[i].s,
                         bodies[i].len, &r, 0) != 0)
            goto out; /* ingest died or hung: the figures would mean nothing */
        lat[run->requests++] = (bs_now_s() - t1) * 1000.0;
        long nc = 0;
        curl_easy_getinfo(b->curl, CURLINFO_NUM_CONNECTS, &nc);
        conns += nc;
        run->sent += rows[i];
        json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
        run->accepted += json_count(j, "accepted");
        run->duplicates += json_count(j, "duplicates");
        run->rejected += json_count(j, "rejected_rows");
        if ((r.status != 200 || json_count(j, "rejected_rows")) && !complained++)
            fprintf(stderr, "bench_ingest: a batch answered %ld: %.300s\n", r.status,
                    r.body ? r.body : "");
        json_decref(j);
        free(r.body);
        run->published_seen += sub_drain(b, 0);
    }
    run->seconds = bs_now_s() - t0;
    run->cpu_ingest = bs_proc_cpu_s(b->ingest_pid) - ci0;
    run->cpu_redis = bs_proc_cpu_s(b->redis.pid) - cr0;
    run->cpu_bench = bs_self_cpu_s() - cb0;
    run->published_seen += sub_drain(b, 1000); /* the tail still in flight */
    run->mem_delta = bs_redis_info(b->redis.c, "memory", "used_memory") - mem0;
    run->aof_delta = bs_redis_info(b->redis.c, "persistence", "aof_current_size") - aof0;
    run->connections = conns;
    if (run->requests) {
        qsort(lat, (size_t)run->requests, sizeof *lat, cmp_double);
        run->p50_ms = lat[run->requests / 2];
        run->p99_ms = lat[(run->requests * 99) / 100];
        run->max_ms = lat[run->requests - 1];
    }
    /* The size of a stored envelope, so redis-benchmark sends the same. */
    redisReply *e = redisCommand(b->redis.c, "XREVRANGE rc:log:{%06d} + - COUNT 1", URN_BASE);
    if (e && e->type == REDIS_REPLY_ARRAY && e->elements == 1 && e->element[0]->elements == 2 &&
        e->element[0]->element[1]->elements == 2)
        run->envelope_len = e->element[0]->element[1]->element[1]->len;
    freeReplyObject(e);
    err = bs_stopping ? -1 : 0;
out:
    for (long i = 0; bodies && i < (o->marks + o->batch - 1) / o->batch; i++)
        free(bodies[i].s);
    free(bodies);
    free(rows);
    free(lat);
    gen_free(&g);
    return err;
}

/* ---- redis-benchmark ---- */

/* csv_rps reads "requests per second" from redis-benchmark --csv output: the
 * second of eight quoted fields on the last data line (the name may be long). */
static double csv_rps(char *out)
{
    char *line = NULL;
    for (char *save = NULL, *l = strtok_r(out, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
        if (l[0] == '"' && strncmp(l, "\"test\"", 6) != 0)
            line = l;
    if (!line)
        return -1;
    /* Count the separators from the right: rps follows the seventh. */
    int seps = 0;
    for (char *p = line + strlen(line) - 1; p > line + 2; p--)
        if (p[0] == '"' && p[-1] == ',' && p[-2] == '"' && ++seps == 7)
            return strtod(p + 1, NULL);
    return -1;
}

/* redis_bench runs redis-benchmark with one client, pipeline depth batch,
 * random keys, and cmd; returns requests per second, or -1 (message printed). */
static double redis_bench(bench_t *b, char *const cmd[])
{
    char port[16], n[24], p[16], log[BS_PATH_MAX + 32];
    char *argv[32];
    int a = 0, fds[2];
    snprintf(port, sizeof port, "%d", b->redis.port);
    snprintf(n, sizeof n, "%ld", b->o->redis_n);
    snprintf(p, sizeof p, "%d", b->o->batch);
    snprintf(log, sizeof log, "%s/redis-benchmark.log", b->dir);
    char *fixed[] = {
        b->redis_benchmark, "-h",   "127.0.0.1", "-p", port, "-c", "1", "-n", n, "-P", p, "-r",
        "100000",           "--csv"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        argv[a++] = fixed[i];
    for (int i = 0; cmd[i] && a < 31; i++)
        argv[a++] = cmd[i];
    argv[a] = NULL;
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = bs_spawn_out(argv, log, fds[1]);
    close(fds[1]);
    bs_text_t out = {0};
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR && !bs_stopping))
        if (got > 0)
            bs_text_add(&out, "%.*s", (int)got, buf);
    close(fds[0]);
    int status = 0;
    if (pid > 0) {
        if (bs_stopping)
            kill(pid, SIGTERM);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    double rps = out.s && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? csv_rps(out.s) : -1;
    if (rps < 0 && !bs_stopping)
        fprintf(stderr, "bench_ingest: redis-benchmark %s gave no figure (see %s)\n", cmd[0], log);
    free(out.s);
    return rps;
}

/* ---- ZeroMQ's own ceiling ---- */

typedef struct {
    void *sub;
    long got;
    double last; /* when the last message arrived */
} zrecv_t;

static void *zmq_receiver(void *arg)
{
    zrecv_t *z = arg;
    zmq_pollitem_t it = {.socket = z->sub, .events = ZMQ_POLLIN};
    while (!bs_stopping && zmq_poll(&it, 1, 1000) > 0) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, z->sub, ZMQ_DONTWAIT) >= 0) {
            if (!zmq_msg_more(&m)) {
                z->got++;
                z->last = bs_now_s();
            }
            zmq_msg_close(&m);
            zmq_msg_init(&m);
        }
        zmq_msg_close(&m);
    }
    return NULL;
}

/* zmq_ceiling publishes n two-frame messages (a 12-byte topic, an 88-byte
 * body) from a PUB to a SUB in another thread over loopback TCP, unlimited
 * queues; returns messages received per second, *got the number received. */
static double zmq_ceiling(long n, long *got)
{
    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB), *sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    char ep[64] = "";
    size_t eplen = sizeof ep;
    double rate = -1;
    zrecv_t z = {.sub = sub};
    *got = 0;
    zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "mark.", 5);
    if (zmq_bind(pub, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0 || zmq_connect(sub, ep) != 0) {
        fprintf(stderr, "bench_ingest: ZeroMQ loopback: %s\n", zmq_strerror(zmq_errno()));
        goto out;
    }
    /* The slow joiner: publish probes until one arrives, then start counting. */
    zmq_pollitem_t it = {.socket = sub, .events = ZMQ_POLLIN};
    int joined = 0;
    for (int i = 0; i < 500 && !joined; i++) {
        zmq_send(pub, "mark.probe.", 11, ZMQ_SNDMORE);
        zmq_send(pub, "p", 1, 0);
        joined = zmq_poll(&it, 1, 10) > 0;
    }
    char drain[128];
    while (zmq_recv(sub, drain, sizeof drain, ZMQ_DONTWAIT) >= 0)
        ;
    if (!joined) {
        fprintf(stderr, "bench_ingest: the ZeroMQ subscriber never joined\n");
        goto out;
    }
    pthread_t th;
    char body[88];
    memset(body, 'x', sizeof body);
    double t0 = bs_now_s();
    if (pthread_create(&th, NULL, zmq_receiver, &z) != 0)
        goto out;
    for (long i = 0; i < n && !bs_stopping; i++) {
        zmq_send(pub, "mark.100001.", 12, ZMQ_SNDMORE);
        zmq_send(pub, body, sizeof body, 0);
    }
    pthread_join(th, NULL);
    *got = z.got;
    if (z.got > 0)
        rate = (double)z.got / (z.last - t0);
out:
    zmq_close(pub);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return rate;
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_ingest [--marks M] [--pupils P] [--schools N] [--batch B]\n"
            "                    [--redis-n N] [--zmq-n N] [--ingest PATH] [--keep]\n"
            "  --marks M    marks to POST (default 200000)\n"
            "  --pupils P   pupils per school (default 1000)\n"
            "  --schools N  schools (default 1)\n"
            "  --batch B    CSV rows per POST, and redis-benchmark's pipeline depth (1000)\n"
            "  --redis-n N  requests per redis-benchmark run (default: --marks)\n"
            "  --zmq-n N    messages for the ZeroMQ ceiling (default 500000)\n"
            "  --ingest P   rollcall-ingest binary (default %s/services/rollcall-ingest)\n"
            "  --keep       keep the temp dir (AOF, logs) and print where it is\n"
            "needs redis-server (7 or later) and redis-benchmark on PATH\n",
            ROLLCALL_BINARY_DIR);
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.marks = 200000, .pupils = 1000, .schools = 1, .batch = 1000, .zmq_n = 500000};
    snprintf(o->ingest, sizeof o->ingest, "%s/services/rollcall-ingest", ROLLCALL_BINARY_DIR);
    for (int i = 1; i < argc; i++) {
        long v = 0;
        const char *a = argv[i];
        if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
            continue;
        }
        if (strcmp(a, "--ingest") == 0 && i + 1 < argc) {
            snprintf(o->ingest, sizeof o->ingest, "%s", argv[++i]);
            continue;
        }
        if (strcmp(a, "--marks") == 0 && (v = bs_parse_long(argc, argv, i, 1, 100000000)) > 0)
            o->marks = v;
        else if (strcmp(a, "--pupils") == 0 && (v = bs_parse_long(argc, argv, i, 1, 99999)) > 0)
            o->pupils = (int)v;
        else if (strcmp(a, "--schools") == 0 && (v = bs_parse_long(argc, argv, i, 1, 7999)) > 0)
            o->schools = (int)v;
        else if (strcmp(a, "--batch") == 0 && (v = bs_parse_long(argc, argv, i, 1, 100000)) > 0)
            o->batch = (int)v;
        else if (strcmp(a, "--redis-n") == 0 &&
                 (v = bs_parse_long(argc, argv, i, 1, 100000000)) > 0)
            o->redis_n = v;
        else if (strcmp(a, "--zmq-n") == 0 && (v = bs_parse_long(argc, argv, i, 1, 100000000)) > 0)
            o->zmq_n = v;
        else
            return -1;
        i++;
    }
    if (!o->redis_n)
        o->redis_n = o->marks;
    return 0;
}

static void print_rate(const char *what, double v, const char *unit)
{
    if (v < 0)
        printf("  %-52s %12s\n", what, "n/a");
    else
        printf("  %-52s %12.0f %s\n", what, v, unit);
}

static void report(bench_t *b, const run_t *run, double fcall, double xadd, double hset,
                   double zrate, long zgot)
{
    const opts_t *o = b->o;
    char model[128], rver[32];
    struct utsname u;
    int major, minor, patch;
    bs_cpu_model(model, sizeof model);
    uname(&u);
    zmq_version(&major, &minor, &patch);
    bs_redis_info_str(b->redis.c, "server", "redis_version", rver, sizeof rver);
    double ingest = run->seconds > 0 ? (double)run->accepted / run->seconds : -1;
    double per_k = run->accepted ? 1000.0 / (double)run->accepted : 0;

    printf("\nbench_ingest: %ld marks sent, %d school(s) x %d pupils, %d rows per POST over one "
           "keep-alive connection (%ld reconnects)\n",
           run->sent, o->schools, o->pupils, o->batch, run->connections);
    printf("machine: %ld CPUs, %s, %s %s; redis %s (appendonly yes, appendfsync always), "
           "libzmq %d.%d.%d, libcurl %s\n\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, u.sysname, u.release, rver, major, minor, patch,
           curl_version_info(CURLVERSION_NOW)->version);
    print_rate("ingest: accepted marks/s, end to end", ingest, "marks/s");
    printf("  %-52s %12ld / %ld / %ld\n", "  accepted / duplicates / rejected", run->accepted,
           run->duplicates, run->rejected);
    printf("  %-52s %8.1f / %.1f / %.1f ms\n", "  per POST of a batch: p50 / p99 / max",
           run->p50_ms, run->p99_ms, run->max_ms);
    printf("  %-52s %8.3f / %.3f / %.3f s\n", "  CPU per 1000 marks: ingest / redis / bench",
           run->cpu_ingest * per_k, run->cpu_redis * per_k, run->cpu_bench * per_k);
    printf("  %-52s %12ld / %ld (%.1f%%)\n", "  published, seen live by a SUB / accepted",
           run->published_seen, run->accepted,
           run->accepted ? 100.0 * (double)run->published_seen / (double)run->accepted : 0.0);
    char label[96];
    snprintf(label, sizeof label, "redis-benchmark FCALL rollcall_append_mark, -c 1 -P %d",
             o->batch);
    print_rate(label, fcall, "ops/s");
    if (fcall > 0 && ingest > 0)
        printf("  %-52s %12.2f\n", "ratio ingest / redis FCALL", ingest / fcall);
    else
        printf("  %-52s %12s\n", "ratio ingest / redis FCALL", "n/a");
    snprintf(label, sizeof label, "redis-benchmark XADD (same envelope size), -P %d", o->batch);
    print_rate(label, xadd, "ops/s");
    snprintf(label, sizeof label, "redis-benchmark HSET (a version), -P %d", o->batch);
    print_rate(label, hset, "ops/s");
    print_rate("ZeroMQ PUB->SUB loopback, 2 frames, 100 bytes", zrate, "msgs/s");
    printf("  %-52s %12ld / %ld\n", "  delivered / sent", zgot, o->zmq_n);
    if (run->accepted) {
        printf("  %-52s %12.0f bytes\n", "Redis memory per stored mark (used_memory delta)",
               (double)run->mem_delta / (double)run->accepted);
        printf("  %-52s %12.0f bytes\n", "AOF per stored mark (aof_current_size delta)",
               (double)run->aof_delta / (double)run->accepted);
    }
    printf("  %-52s %12zu bytes\n", "a stored mark envelope (the stream entry's value)",
           run->envelope_len);
}

int main(int argc, char **argv)
{
    opts_t o;
    bench_t b = {.o = &o};
    run_t run = {0};
    int status = EXIT_FAILURE;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return EXIT_SUCCESS;
    }
    if (parse_opts(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    if (bs_find_program("redis-server", b.redis.server) != 0 ||
        bs_find_program("redis-benchmark", b.redis_benchmark) != 0) {
        fprintf(stderr, "bench_ingest: redis-server and redis-benchmark must be on PATH "
                        "(Debian/Ubuntu: apt-get install redis-server redis-tools)\n");
        return EXIT_FAILURE;
    }
    if (access(o.ingest, X_OK) != 0) {
        fprintf(stderr,
                "bench_ingest: no rollcall-ingest at %s: build it (--target rollcall-ingest) or "
                "pass --ingest PATH\n",
                o.ingest);
        return EXIT_FAILURE;
    }
    bs_catch_signals();

    if (bs_make_temp_dir(b.dir) != 0) {
        fprintf(stderr, "bench_ingest: mkdtemp %s: %s\n", b.dir, strerror(errno));
        return EXIT_FAILURE;
    }
    snprintf(b.redis.dir, sizeof b.redis.dir, "%s", b.dir);
    b.redis.port = bs_free_port();
    b.http_port = bs_free_port();
    b.pub_port = bs_free_port();
    snprintf(b.url, sizeof b.url, "http://127.0.0.1:%d", b.http_port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (b.redis.port < 0 || b.http_port < 0 || b.pub_port < 0 || !(b.curl = curl_easy_init())) {
        fprintf(stderr, "bench_ingest: no free loopback port, or libcurl failed\n");
        goto out;
    }
    curl_easy_setopt(b.curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(b.curl, CURLOPT_TCP_NODELAY, 1L);
    fprintf(stderr, "bench_ingest: redis-server on %d, rollcall-ingest on %d (pub %d), in %s\n",
            b.redis.port, b.http_port, b.pub_port, b.dir);
    if (bs_redis_start(&b.redis, "always") != 0 ||
        bs_ingest_start(o.ingest, b.dir, b.redis.port, b.http_port, b.pub_port, b.curl,
                        &b.ingest_pid) != 0)
        goto out;

    /* Subscribe before the marks flow; the reference data gives it time to join. */
    char ep[64];
    int zero = 0;
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", b.pub_port);
    b.zctx = zmq_ctx_new();
    b.sub = zmq_socket(b.zctx, ZMQ_SUB);
    zmq_setsockopt(b.sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(b.sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(b.sub, ZMQ_SUBSCRIBE, "mark.", 5);
    if (zmq_connect(b.sub, ep) != 0) {
        fprintf(stderr, "bench_ingest: connect SUB to %s: %s\n", ep, zmq_strerror(zmq_errno()));
        goto out;
    }
    fprintf(stderr, "bench_ingest: loading %d school(s), %d pupils each\n", o.schools, o.pupils);
    if (load_reference(&b) != 0)
        goto out;
    bs_sleep_ms(200);
    fprintf(stderr, "bench_ingest: POSTing %ld marks in batches of %d\n", o.marks, o.batch);
    if (run_marks(&b, &run) != 0)
        goto out;

    /* Redis's ceiling for the same command shape, then its parts. */
    char payload[1024];
    size_t plen = run.envelope_len ? run.envelope_len : 60;
    if (plen >= sizeof payload)
        plen = sizeof payload - 1;
    memset(payload, 'x', plen);
    payload[plen] = '\0';
    fprintf(stderr, "bench_ingest: redis-benchmark, %ld requests each\n", o.redis_n);
    char *fcall_cmd[] = {"FCALL",
                         "rollcall_append_mark",
                         "3",
                         "rc:mv:{b}:__rand_int__",
                         "rc:seq:{b}",
                         "rc:log:{b}",
                         "f:__rand_int__",
                         "1:1:0",
                         payload,
                         NULL};
    char *xadd_cmd[] = {"XADD", "rc:x:{b}", "*", "e", payload, NULL};
    char *hset_cmd[] = {"HSET", "rc:h:{b}:__rand_int__", "f:__rand_int__", "1:1:0", NULL};
    double fcall = redis_bench(&b, fcall_cmd);
    double xadd = bs_stopping ? -1 : redis_bench(&b, xadd_cmd);
    double hset = bs_stopping ? -1 : redis_bench(&b, hset_cmd);

    fprintf(stderr, "bench_ingest: ZeroMQ PUB->SUB, %ld messages\n", o.zmq_n);
    long zgot = 0;
    double zrate = bs_stopping ? -1 : zmq_ceiling(o.zmq_n, &zgot);
    if (bs_stopping)
        goto out;
    report(&b, &run, fcall, xadd, hset, zrate, zgot);
    status = EXIT_SUCCESS;
out:
    if (b.sub)
        zmq_close(b.sub);
    if (b.zctx)
        zmq_ctx_term(b.zctx);
    if (b.curl)
        curl_easy_cleanup(b.curl);
    curl_global_cleanup();
    bs_stop(&b.ingest_pid, 5000);
    bs_redis_stop(&b.redis);
    if (o.keep)
        fprintf(stderr, "bench_ingest: kept %s\n", b.dir);
    else
        bs_remove_tree(b.dir);
    return status;
}
