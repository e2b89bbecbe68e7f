/* bench_notify.c - notify sending a trust's 09:30 first-day texts through the gateway simulator. */

/* Starts its own redis-server (AOF, fsync always unless --appendfsync), rollcall-ingest and
 * rollcall-rules (replay clock), rollcall-gateway-sim (GOV.UK Notify's API) and rollcall-notify in
 * a temp dir, and loads a trust: --schools schools of --pupils pupils running
 * 001_attendance_process, every pupil with two parents, each with a mobile and an email. Then, one
 * school day per run, marks some pupils N at 08:55, lets rules apply the register and times from
 * the 09:30 tick until the simulator holds every message the first-day alerts ask for (2 SMS + 2
 * emails per absent pupil): A: no rate limit, max_in_flight 32 and then 128, each beside the
 * simulator's own ceiling for the same requests at the same concurrency (a libcurl multi loop in
 * this process); B: the 3,000/min limit, a batch of --batch messages, beside the limiter's floor.
 * Prints its figures; asserts none. Usage: bench_notify --help. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "benchsupport.h"
#include "notify/gateway.h"
#include "rollcall/date.h"
#include "rollcall/ids.h"

#ifndef ROLLCALL_BINARY_DIR
#define ROLLCALL_BINARY_DIR "."
#endif
#ifndef ROLLCALL_SOURCE_DIR
#define ROLLCALL_SOURCE_DIR "."
#endif

#define SCHOOLS_MAX  50
#define POLICY       "001_attendance_process"
#define SERVICE_ID   "26785a09-ab16-4eb0-8407-a37497a57506"
#define API_KEY      "rollcall_bench-" SERVICE_ID "-3d844edf-8d35-48ac-975b-e847b4f122b0"
#define SMS_TPL      "f33517ff-2a88-4f6e-b855-c550268ce08a"
#define EMAIL_TPL    "a0b1c2d3-e4f5-4a6b-8c7d-8e9f0a1b2c3d"
#define RATE_NONE    1000000 /* notify's highest rate_per_minute: no limit in practice */
#define RATE_NOTIFY  3000    /* GOV.UK Notify's limit per API key */
#define POLL_MS      5
#define CMDSTATS_MAX 64

/* What the run was asked for. */
typedef struct {
    int schools, pupils;  /* the trust */
    int absent_pct;       /* A: pupils marked N at 08:55 */
    int batch;            /* B: messages in the rate-limited batch */
    int keep;             /* leave the temp dir (logs, AOF) behind */
    char appendfsync[16]; /* Redis's appendfsync: always (production), everysec, no */
    int run_a, run_b;     /* which measurements to make */
    char notify[BS_PATH_MAX], rules[BS_PATH_MAX], ingest[BS_PATH_MAX];
    char sim[BS_PATH_MAX], policies_dir[BS_PATH_MAX], templates_dir[BS_PATH_MAX];
} opts_t;

/* The run's processes, ports and connections. */
typedef struct {
    const opts_t *o;
    char dir[BS_PATH_MAX];       /* temp dir: AOF, logs, templates */
    char tdir[BS_PATH_MAX + 16]; /* the templates notify reads */
    bs_redis_t redis;            /* its connection is the bench's own: polling, INFO */
    int http_port, ingest_pub, rules_pub, notify_pub, sim_port;
    pid_t ingest_pid, rules_pid, sim_pid, notify_pid;
    CURL *curl;     /* ingest's API, one keep-alive connection */
    CURL *sim_curl; /* the simulator's /_sim/, another */
    char ingest_url[64], sim_url[64];
    char urns[SCHOOLS_MAX][RC_URN_LEN + 1];
    int mobiles; /* contacts numbered so far: each gets its own mobile and address */
} bench_t;

/* One Redis command's share of a run (INFO commandstats). */
typedef struct {
    char name[48];
    long long calls, usec;
} cmdstat_t;

/* What one run of notify measured. */
typedef struct {
    const char *label;
    int in_flight, rate;
    int absent, events_expected;
    long long events;                   /* outbox entries rules wrote after the tick */
    long long expected, received;       /* messages the simulator should hold, and holds */
    long long distinct;                 /* distinct references among them */
    double t_outbox, t_planned;         /* s from the tick: outbox written, all planned */
    double t_first, t_last;             /* s from the tick: first and last message received */
    double t_recorded;                  /* s from the tick: every outcome recorded by notify */
    double t_end;                       /* the later of t_last and t_recorded: CPU window */
    double probe, probe_after;          /* fsync'd INCR round trips/s before and after the run */
    double cpu_notify, cpu_redis;       /* s from the tick to t_end */
    double cpu_sim, cpu_rules;          /* s from the tick to t_end */
    long long aof_delta;                /* AOF bytes written, tick to t_end */
    long long mem_delta;                /* used_memory growth, tick to t_end */
    long long msg_bytes;                /* MEMORY USAGE of one rn:msg hash */
    cmdstat_t cmds[CMDSTATS_MAX];       /* Redis commands, tick to t_end, every client */
    int ncmds;                          /* of cmds */
    double ceil_fresh_s, ceil_alive_s;  /* the ceiling, fresh connections and keep-alive */
    double ceil_cpu_sim, ceil_cpu_self; /* fresh-connection ceiling: CPU */
    long ceil_n, ceil_ok;               /* requests the ceiling sent, 201s */
    long ceil_alive_ok;
    int ok; /* every expected message arrived */
} run_t;

static rc_time_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (rc_time_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- files ---- */

/* copy_tree copies the files and directories under src into dst (made);
 * 0, or -1 with errno set. */
static int copy_tree(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    struct dirent *e;
    int err = d && (mkdir(dst, 0700) == 0 || errno == EEXIST) ? 0 : -1;
    while (err == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char s[BS_PATH_MAX * 2], t[BS_PATH_MAX * 2], buf[65536];
        struct stat st;
        snprintf(s, sizeof s, "%s/%s", src, e->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, e->d_name);
        if (stat(s, &st) != 0) {
            err = -1;
        } else if (S_ISDIR(st.st_mode)) {
            err = copy_tree(s, t);
        } else if (S_ISREG(st.st_mode)) {
            FILE *in = fopen(s, "rb"), *out = fopen(t, "wb");
            size_t n;
            err = in && out ? 0 : -1;
            while (err == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
                err = fwrite(buf, 1, n, out) == n ? 0 : -1;
            if (in)
                fclose(in);
            if (out && fclose(out) != 0)
                err = -1;
        }
    }
    if (d)
        closedir(d);
    return err;
}

/* ---- Redis ---- */

/* redis_ok runs a command and is 1 when Redis did not answer an error. */
static int redis_ok(redisContext *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int redis_ok(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    int ok = r && r->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
    return ok;
}

/* redis_commandstats reads INFO commandstats into out; returns how many. */
static int redis_commandstats(bench_t *b, cmdstat_t out[CMDSTATS_MAX])
{
    redisReply *r = redisCommand(b->redis.c, "INFO commandstats");
    int n = 0;
    for (const char *p = r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
         p && (p = strstr(p, "cmdstat_")) && n < CMDSTATS_MAX; p++) {
        cmdstat_t *c = &out[n];
        int len = 0;
        if (sscanf(p + 8, "%47[^:]:calls=%lld,usec=%lld%n", c->name, &c->calls, &c->usec, &len) ==
                3 &&
            len > 0)
            n++;
    }
    freeReplyObject(r);
    return n;
}

/* ---- HTTP ---- */

/* ingest_post POSTs body to ingest; -1 when ingest failed or refused a row. */
static int ingest_post(bench_t *b, const char *path, const char *ctype, const bs_text_t *t)
{
    bs_resp_t r;
    if (bs_http_send(b->curl, "POST", b->ingest_url, path, ctype, t->s, t->len, &r, 0) != 0)
        return -1;
    json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
    int ok =
        r.status == 200 && (!j || json_integer_value(json_object_get(j, "rejected_rows")) == 0);
    if (!ok)
        fprintf(stderr, "bench_notify: POST %s answered %ld: %.400s\n", path, r.status,
                r.body ? r.body : "");
    json_decref(j);
    free(r.body);
    return ok ? 0 : -1;
}

/* sim_json GETs path from the simulator and parses it; NULL on failure. */
static json_t *sim_json(bench_t *b, const char *path)
{
    bs_resp_t r;
    if (bs_http_send(b->sim_curl, "GET", b->sim_url, path, NULL, NULL, 0, &r, 0) != 0)
        return NULL;
    json_t *j = r.status == 200 && r.body ? json_loads(r.body, 0, NULL) : NULL;
    free(r.body);
    return j;
}

/* sim_count is the number of messages the simulator holds, or -1. */
static long long sim_count(bench_t *b)
{
    json_t *j = sim_json(b, "/_sim/stats");
    long long n = j ? (long long)json_integer_value(json_object_get(j, "messages_total")) : -1;
    json_decref(j);
    return n;
}

/* sim_clear forgets the simulator's messages; 0 or -1. */
static int sim_clear(bench_t *b)
{
    bs_resp_t r;
    if (bs_http_send(b->sim_curl, "DELETE", b->sim_url, "/_sim/messages", NULL, NULL, 0, &r, 0) !=
        0)
        return -1;
    free(r.body);
    return r.status == 200 ? 0 : -1;
}

/* ---- the services ---- */

static int rules_start(bench_t *b)
{
    char rport[16], sub[64], pub[64], log[BS_PATH_MAX + 16];
    snprintf(rport, sizeof rport, "%d", b->redis.port);
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", b->ingest_pub);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", b->rules_pub);
    snprintf(log, sizeof log, "%s/rules.log", b->dir);
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
    if ((b->rules_pid = bs_spawn(argv, log)) < 0 ||
        bs_wait_log(&b->rules_pid, log, "\"service.ready\"", 15000) != 0) {
        fprintf(stderr, "bench_notify: rollcall-rules did not start (see %s)\n", log);
        return -1;
    }
    return 0;
}

/* sim_start runs the simulator as GOV.UK Notify for the bench's API key
 * (ROLLCALL_SIM_NOTIFY_API_KEY, set in main), receipts at once and sent
 * nowhere: notify is measured sending, not taking receipts. */
static int sim_start(bench_t *b)
{
    char port[16], log[BS_PATH_MAX + 16];
    snprintf(port, sizeof port, "%d", b->sim_port);
    snprintf(log, sizeof log, "%s/sim.log", b->dir);
    char *argv[] = {(char *)b->o->sim, "--port",          port,  "--notify-service-id",
                    SERVICE_ID,        "--deliver-after", "0ms", NULL};
    if ((b->sim_pid = bs_spawn(argv, log)) < 0 ||
        bs_wait_log(&b->sim_pid, log, "\"sim.ready\"", 15000) != 0) {
        fprintf(stderr, "bench_notify: rollcall-gateway-sim did not start (see %s)\n", log);
        return -1;
    }
    return 0;
}

/* notify_start runs rollcall-notify for one run: both channels through the
 * simulator as GOV.UK Notify (ROLLCALL_NOTIFY_API_KEY, set in main), the
 * replay clock, no quiet hours, no receipt listener. */
static int notify_start(bench_t *b, const char *name, int in_flight, int rate)
{
    char rport[16], sub[64], pub[64], fly[16], rpm[16], log[BS_PATH_MAX + 64];
    snprintf(rport, sizeof rport, "%d", b->redis.port);
    snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", b->rules_pub);
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", b->notify_pub);
    snprintf(fly, sizeof fly, "%d", in_flight);
    snprintf(rpm, sizeof rpm, "%d", rate);
    snprintf(log, sizeof log, "%s/notify-%s.log", b->dir, name);
    char *argv[] = {(char *)b->o->notify,
                    "--redis-port",
                    rport,
                    "--rules-endpoints",
                    sub,
                    "--pub-endpoint",
                    pub,
                    "--templates-dir",
                    b->tdir,
                    "--clock",
                    "replay",
                    "--sms-gateway",
                    "notify",
                    "--email-gateway",
                    "notify",
                    "--notify-url",
                    b->sim_url,
                    "--http-port",
                    "0",
                    "--quiet-hours",
                    "",
                    "--max-in-flight",
                    fly,
                    "--rate-per-minute",
                    rpm,
                    NULL};
    if ((b->notify_pid = bs_spawn(argv, log)) < 0 ||
        bs_wait_log(&b->notify_pid, log, "\"service.ready\"", 15000) != 0) {
        fprintf(stderr, "bench_notify: rollcall-notify did not start (see %s)\n", log);
        return -1;
    }
    bs_sleep_ms(300); /* its SUB socket joins rules' PUB: the tick's events must not miss it */
    return 0;
}

/* templates_setup copies the templates and gives the first-day message
 * GOV.UK Notify template ids, as a school registering them with Notify
 * would (tests/test_notify.c does the same). */
static int templates_setup(bench_t *b)
{
    char file[BS_PATH_MAX + 48];
    snprintf(b->tdir, sizeof b->tdir, "%s/templates", b->dir);
    snprintf(file, sizeof file, "%s/first_day_absence.yaml", b->tdir);
    if (copy_tree(b->o->templates_dir, b->tdir) != 0) {
        fprintf(stderr, "bench_notify: cannot copy %s: %s\n", b->o->templates_dir, strerror(errno));
        return -1;
    }
    FILE *f = fopen(file, "a");
    if (!f || fprintf(f, "notify: {sms_template_id: %s, email_template_id: %s}\n", SMS_TPL,
                      EMAIL_TPL) < 0) {
        if (f)
            fclose(f);
        fprintf(stderr, "bench_notify: cannot write %s\n", file);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- the trust ---- */

#define TERM_FROM "2026-09-01"
#define TERM_TO   "2026-12-18"

/* The school days the runs use: each run a fresh day, so rules raises fresh
 * first-day alerts (BST: +01:00). */
static const char *const days[] = {"2026-09-07", "2026-09-08", "2026-09-09", "2026-09-10"};

/* pupil_upn writes pupil p of school s's UPN: LA 909, establishment 2000 +
 * s, a 5-digit serial, and its check letter in front. */
static void pupil_upn(int s, int p, char upn[RC_UPN_LEN + 1])
{
    snprintf(upn + 1, RC_UPN_LEN, "909%04u%05u", 2001u + (unsigned)s % SCHOOLS_MAX,
             (unsigned)p % 100000u);
    upn[0] = upn_check_letter(upn + 1);
}

/* load_trust POSTs the schools (one trust, policy 001), their calendar, the
 * pupils (no social workers: only the first-day message is asked for) and
 * two parents per pupil, each with a mobile of their own (07700 1xxxxx:
 * not the simulator's reserved numbers) and an email address. */
static int load_trust(bench_t *b)
{
    const opts_t *o = b->o;
    bs_text_t t = {0};
    char upn[RC_UPN_LEN + 1];
    int err = -1;
    bs_text_add(&t, "urn,name,la_code,trust_id,policy\n");
    for (int s = 0; s < o->schools; s++) {
        snprintf(b->urns[s], sizeof b->urns[s], "%u", 100001u + (unsigned)s % SCHOOLS_MAX);
        bs_text_add(&t, "%s,Bench Academy %d,909,T1,%s\n", b->urns[s], s + 1, POLICY);
    }
    if (!t.s || ingest_post(b, "/v1/schools", "text/csv", &t) != 0)
        goto out;
    t.len = 0;
    bs_text_add(&t, "urn,kind,from,to,session\n");
    for (int s = 0; s < o->schools; s++)
        bs_text_add(&t, "%s,term,%s,%s,\n", b->urns[s], TERM_FROM, TERM_TO);
    if (!t.s || ingest_post(b, "/v1/calendar", "text/csv", &t) != 0)
        goto out;
    for (int s = 0; s < o->schools; s++) {
        t.len = 0;
        bs_text_add(&t, "urn,upn,forename,surname,year_group,date_of_birth,on_roll_from,"
                        "on_roll_to,sen,fsm,eal,cla,social_worker\n");
        for (int p = 0; p < o->pupils; p++) {
            int yg = 7 + p % 5;
            pupil_upn(s, p, upn);
            bs_text_add(&t, "%s,%s,Ann,Smith,%d,%d-03-02,%s,,N,N,N,N,N\n", b->urns[s], upn, yg,
                        2014 - (yg - 7), TERM_FROM);
        }
        if (!t.s || ingest_post(b, "/v1/pupils", "text/csv", &t) != 0)
            goto out;
        t.len = 0;
        bs_text_add(&t, "upn,contact_id,name,relationship,parental_responsibility,mobile,email,"
                        "priority\n");
        for (int p = 0; p < o->pupils; p++) {
            pupil_upn(s, p, upn);
            for (int k = 0; k < 2; k++, b->mobiles++)
                bs_text_add(&t,
                            "%s,%s-%c,Parent %c Smith,%s,Y,+447700%06d,parent.%d@example.org,%d\n",
                            upn, upn, k ? 'f' : 'm', k ? 'B' : 'A', k ? "father" : "mother",
                            100000 + b->mobiles, b->mobiles, k + 1);
        }
        if (!t.s || ingest_post(b, "/v1/contacts", "text/csv", &t) != 0)
            goto out;
        /* The school's phone the message quotes (schools.csv has no column for it yet). */
        if (!redis_ok(b->redis.c, "HSET rc:school:{%s} phone %s", b->urns[s], "01632 960100"))
            goto out;
    }
    err = 0;
out:
    free(t.s);
    return err;
}

/* post_clock moves ingest's replay clock to day at hh:mm, London (BST). */
static int post_clock(bench_t *b, const char *day, int hh, int mm)
{
    bs_text_t t = {0};
    bs_text_add(&t, "{\"now\": \"%sT%02d:%02d:00+01:00\"}", day, hh, mm);
    int err = t.s ? ingest_post(b, "/v1/clock", "application/json", &t) : -1;
    free(t.s);
    return err;
}

/* rules_caught_up waits until rules has applied every school's log. */
static int rules_caught_up(bench_t *b, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms && !bs_stopping; waited += 10) {
        int behind = 0;
        for (int s = 0; s < b->o->schools && !behind; s++) {
            long long seq = bs_redis_u64(b->redis.c, "GET rc:seq:{%s}", b->urns[s]);
            long long pos = bs_redis_u64(b->redis.c, "HGET rs:school:{%s} pos", b->urns[s]);
            behind = seq < 0 || pos < seq;
        }
        if (!behind)
            return 0;
        if (b->redis.c->err) {
            fprintf(stderr, "bench_notify: the bench's Redis connection failed: %s\n",
                    b->redis.c->errstr);
            return -1;
        }
        if (bs_exited(&b->rules_pid))
            break;
        bs_sleep_ms(10);
    }
    fprintf(stderr, "bench_notify: rollcall-rules did not catch up (see %s/rules.log)\n", b->dir);
    return -1;
}

/* register_day sends day's morning register at 08:55: pupil p of each school
 * is N when absent(s, p), present otherwise; then waits for rules. Returns
 * the number of absent pupils, or -1. */
static int register_day(bench_t *b, const char *day, int (*absent)(const opts_t *, int, int, int),
                        int arg)
{
    const opts_t *o = b->o;
    bs_text_t t = {0};
    char upn[RC_UPN_LEN + 1];
    int n = 0;
    if (post_clock(b, day, 8, 0) != 0)
        return -1;
    for (int s = 0; s < o->schools; s++) {
        t.len = 0;
        bs_text_add(&t, "urn,upn,date,session,code,minutes_late,recorded_at\n");
        for (int p = 0; p < o->pupils; p++) {
            int a = absent(o, s, p, arg);
            n += a;
            pupil_upn(s, p, upn);
            bs_text_add(&t, "%s,%s,%s,AM,%s,,%sT08:55:00+01:00\n", b->urns[s], upn, day,
                        a ? "N" : "/", day);
        }
        if (!t.s || ingest_post(b, "/v1/marks", "text/csv", &t) != 0) {
            free(t.s);
            return -1;
        }
    }
    free(t.s);
    return rules_caught_up(b, 60000) == 0 ? n : -1;
}

/* absent_pct: arg percent of each school's pupils, a different set each day. */
static int absent_pct(const opts_t *o, int s, int p, int arg)
{
    return (unsigned)(p * 37 + s * 11 + arg * 53) % 100u < (unsigned)o->absent_pct;
}

/* absent_first: the first pupils of each school, arg in all, spread evenly. */
static int absent_first(const opts_t *o, int s, int p, int arg)
{
    int per = arg / o->schools + (s < arg % o->schools);
    return p < per;
}

/* ---- one run: the 09:30 tick to the last message at the simulator ---- */

/* outbox_len sums XLEN of every school's outbox. */
static long long outbox_len(bench_t *b)
{
    long long n = 0;
    for (int s = 0; s < b->o->schools; s++)
        n += bs_redis_u64(b->redis.c, "XLEN rs:outbox:{%s}", b->urns[s]);
    return n;
}

/* outcomes sums notify's outcome counters (rn:oseq) over the schools. */
static long long outcomes(bench_t *b)
{
    long long n = 0;
    for (int s = 0; s < b->o->schools; s++)
        n += bs_redis_u64(b->redis.c, "GET rn:oseq:{%s}", b->urns[s]);
    return n;
}

/* probe returns one-command round trips per second (INCR of a scratch key,
 * 200 times): with appendfsync always, each waits for an fsync. */
static double probe(bench_t *b)
{
    double t0 = bs_now_s();
    int n = 0;
    for (; n < 200 && !bs_stopping; n++)
        if (bs_redis_u64(b->redis.c, "INCR rn:bench:probe") < 0)
            return -1;
    return (double)n / (bs_now_s() - t0);
}

/* planned_all is 1 when notify's position in every outbox is rules' last entry. */
static int planned_all(bench_t *b, const long long *out)
{
    for (int s = 0; s < b->o->schools; s++)
        if (bs_redis_u64(b->redis.c, "GET rn:pos:{%s}", b->urns[s]) < out[s])
            return 0;
    return 1;
}

/* sim_distinct counts the distinct references among the simulator's messages
 * (a message sent twice shows as fewer distinct than received). */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long long sim_distinct(json_t *all)
{
    size_t n = json_array_size(all), k = 0;
    const char **refs = calloc(n + 1, sizeof *refs);
    if (!refs)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *r = json_string_value(json_object_get(json_array_get(all, i), "reference"));
        if (r)
            refs[k++] = r;
    }
    qsort(refs, k, sizeof *refs, cmp_str);
    long long d = 0;
    for (size_t i = 0; i < k; i++)
        d += i == 0 || strcmp(refs[i], refs[i - 1]) != 0;
    free(refs);
    return d;
}

/* measure posts the 09:30 tick of day and polls until the simulator holds
 * run->expected messages (or the time is up): when rules had written the
 * events, when notify had planned them all, when the first and the last
 * message reached the simulator; the CPU each process used meanwhile and
 * Redis's command counts. */
static int measure(bench_t *b, const char *day, run_t *run, double timeout_s)
{
    long long out[SCHOOLS_MAX];
    run->probe = probe(b);
    long long ob0 = outbox_len(b), oc0 = outcomes(b);
    if (sim_clear(b) != 0 || !redis_ok(b->redis.c, "CONFIG RESETSTAT"))
        return -1;
    long long aof0 = bs_redis_info(b->redis.c, "persistence", "aof_current_size");
    long long mem0 = bs_redis_info(b->redis.c, "memory", "used_memory");
    double cn = bs_proc_cpu_s(b->notify_pid), cr = bs_proc_cpu_s(b->redis.pid);
    double cs = bs_proc_cpu_s(b->sim_pid), cu = bs_proc_cpu_s(b->rules_pid);
    double t0 = bs_now_s();
    if (post_clock(b, day, 9, 30) != 0)
        return -1;
    run->t_outbox = run->t_planned = run->t_first = run->t_last = run->t_recorded = -1;
    for (;;) {
        double t = bs_now_s() - t0;
        if (run->t_outbox < 0 && outbox_len(b) - ob0 >= run->events_expected) {
            run->t_outbox = t;
            for (int s = 0; s < b->o->schools; s++)
                out[s] = bs_redis_u64(b->redis.c, "HGET rs:school:{%s} out", b->urns[s]);
        }
        if (run->t_outbox >= 0 && run->t_planned < 0 && planned_all(b, out))
            run->t_planned = t;
        long long got = sim_count(b);
        if (got > 0 && run->t_first < 0)
            run->t_first = t;
        if (got >= run->expected && run->t_last < 0)
            run->t_last = bs_now_s() - t0;
        if (run->t_recorded < 0 && outcomes(b) - oc0 >= run->expected)
            run->t_recorded = bs_now_s() - t0;
        if (run->t_last >= 0 && run->t_recorded >= 0)
            break;
        if (t > timeout_s || bs_stopping || bs_exited(&b->notify_pid)) {
            fprintf(stderr, "bench_notify: %s: %lld of %lld messages after %.0f s (see %s)\n",
                    run->label, got, run->expected, t, b->dir);
            run->t_last = run->t_last < 0 ? t : run->t_last;
            run->t_recorded = run->t_recorded < 0 ? t : run->t_recorded;
            break;
        }
        bs_sleep_ms(POLL_MS);
    }
    run->t_end = bs_now_s() - t0;
    run->cpu_notify = bs_proc_cpu_s(b->notify_pid) - cn;
    run->cpu_redis = bs_proc_cpu_s(b->redis.pid) - cr;
    run->cpu_sim = bs_proc_cpu_s(b->sim_pid) - cs;
    run->cpu_rules = bs_proc_cpu_s(b->rules_pid) - cu;
    run->aof_delta = bs_redis_info(b->redis.c, "persistence", "aof_current_size") - aof0;
    run->mem_delta = bs_redis_info(b->redis.c, "memory", "used_memory") - mem0;
    run->ncmds = redis_commandstats(b, run->cmds);
    run->probe_after = probe(b);
    run->events = outbox_len(b) - ob0;
    bs_sleep_ms(500); /* a second copy of any message would show by now */
    json_t *all = sim_json(b, "/_sim/messages");
    run->received = (long long)json_array_size(all);
    run->distinct = sim_distinct(all);
    /* Our reference is rc-<urn>-<key>; the message is rn:msg:{<urn>}:<key>. */
    const char *ref = json_string_value(json_object_get(json_array_get(all, 0), "reference"));
    char key[160];
    if (ref && strlen(ref) > 4 + RC_URN_LEN && strlen(ref) < 100) {
        snprintf(key, sizeof key, "rn:msg:{%.*s}:%s", RC_URN_LEN, ref + 3, ref + 4 + RC_URN_LEN);
        run->msg_bytes = bs_redis_u64(b->redis.c, "MEMORY USAGE %s SAMPLES 0", key);
    }
    json_decref(all);
    run->ok = run->received >= run->expected;
    return 0;
}

/* ---- the ceiling: the simulator alone, the same requests ---- */

/* One request the ceiling replays, as notify sent it. */
typedef struct {
    channel_t channel;
    char *to, *template_id, *reference;
    gateway_field_t *fields; /* names and values point into pers */
    size_t nfields;
    json_t *pers;
} replay_t;

static void replays_free(replay_t *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].to);
        free(r[i].template_id);
        free(r[i].reference);
        free(r[i].fields);
        json_decref(r[i].pers);
    }
    free(r);
}

/* replays_read reads the messages notify sent from the simulator; NULL on failure. */
static replay_t *replays_read(bench_t *b, size_t *n)
{
    json_t *all = sim_json(b, "/_sim/messages");
    size_t cnt = json_array_size(all);
    replay_t *r = cnt ? calloc(cnt, sizeof *r) : NULL;
    *n = 0;
    for (size_t i = 0; r && i < cnt; i++) {
        json_t *m = json_array_get(all, i), *pers = json_object_get(m, "personalisation");
        const char *type = json_string_value(json_object_get(m, "type"));
        const char *to = json_string_value(json_object_get(m, "to"));
        const char *tpl = json_string_value(json_object_get(m, "template_id"));
        const char *ref = json_string_value(json_object_get(m, "reference"));
        if (!type || !to || !tpl || !ref)
            continue;
        replay_t *x = &r[(*n)++];
        x->channel = strcmp(type, "sms") == 0 ? CHANNEL_SMS : CHANNEL_EMAIL;
        x->to = strdup(to);
        x->template_id = strdup(tpl);
        x->reference = strdup(ref);
        x->pers = json_incref(pers);
        x->fields = calloc(json_object_size(pers) + 1, sizeof *x->fields);
        const char *k;
        json_t *v;
        json_object_foreach(pers, k, v)
        {
            if (x->fields && json_is_string(v)) {
                x->fields[x->nfields].name = k;
                x->fields[x->nfields++].value = json_string_value(v);
            }
        }
    }
    json_decref(all);
    return r;
}

/* One transfer of the ceiling. */
typedef struct {
    CURL *h;
    struct curl_slist *headers;
    gateway_request_t req;
} slot_t;

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* ceiling_run sends the n requests to the simulator, concurrency at a time,
 * built as notify builds them (gateway_send_request: a fresh JWT each) and
 * sent with the headers and options notify's launch() sets: with fresh
 * a new connection per request, as notify does for every send; otherwise
 * keep-alive. Returns the wall seconds, and the 201s in *ok; -1 on failure. */
static double ceiling_run(bench_t *b, const replay_t *rq, size_t n, int concurrency, int fresh,
                          long *ok)
{
    gateway_t g = {.kind = GATEWAY_NOTIFY};
    char why[GATEWAY_WHY_MAX];
    CURLM *multi = curl_multi_init();
    slot_t *slots = calloc((size_t)concurrency, sizeof *slots);
    double elapsed = -1;
    size_t next = 0, done = 0;
    *ok = 0;
    snprintf(g.base_url, sizeof g.base_url, "%s", b->sim_url);
    if (!multi || !slots || gateway_notify_key(&g, API_KEY, why) != RC_OK) {
        fprintf(stderr, "bench_notify: ceiling: %s\n", multi && slots ? why : "out of memory");
        goto out;
    }
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)concurrency);
    double t0 = bs_now_s();
    while (done < n && !bs_stopping) {
        for (int i = 0; i < concurrency && next < n; i++) {
            slot_t *s = &slots[i];
            if (s->h)
                continue;
            const replay_t *x = &rq[next++];
            gateway_message_t m = {.channel = x->channel,
                                   .to = x->to,
                                   .reference = x->reference,
                                   .template_id = x->template_id,
                                   .fields = x->fields,
                                   .nfields = x->nfields};
            char hdr[1100];
            if (gateway_send_request(&g, &m, wall_us(), &s->req, why) != RC_OK ||
                !(s->h = curl_easy_init())) {
                fprintf(stderr, "bench_notify: ceiling: cannot build a request: %s\n", why);
                goto out;
            }
            snprintf(hdr, sizeof hdr, "Content-Type: %s", s->req.content_type);
            s->headers = curl_slist_append(s->headers, hdr);
            snprintf(hdr, sizeof hdr, "Authorization: %s", s->req.authorization);
            s->headers = curl_slist_append(s->headers, hdr);
            s->headers = curl_slist_append(s->headers, "Expect:");
            s->headers = curl_slist_append(s->headers, "User-Agent: rollcall-notify");
            curl_easy_setopt(s->h, CURLOPT_URL, s->req.url);
            curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->headers);
            curl_easy_setopt(s->h, CURLOPT_TIMEOUT_MS, 15000L);
            curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, discard);
            curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
            curl_easy_setopt(s->h, CURLOPT_FRESH_CONNECT, (long)fresh);
            curl_easy_setopt(s->h, CURLOPT_FORBID_REUSE, (long)fresh);
            curl_easy_setopt(s->h, CURLOPT_POST, 1L);
            curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->req.body);
            curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->req.len);
            curl_multi_add_handle(multi, s->h);
        }
        int running = 0, left;
        curl_multi_perform(multi, &running);
        CURLMsg *cm;
        while ((cm = curl_multi_info_read(multi, &left)) != NULL) {
            if (cm->msg != CURLMSG_DONE)
                continue;
            slot_t *s = NULL;
            long status = 0;
            curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(cm->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            *ok += cm->data.result == CURLE_OK && status == 201;
            curl_multi_remove_handle(multi, s->h);
            curl_easy_cleanup(s->h);
            curl_slist_free_all(s->headers);
            gateway_request_free(&s->req);
            memset(s, 0, sizeof *s);
            done++;
        }
        if (done < n)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    elapsed = bs_stopping ? -1 : bs_now_s() - t0;
out:
    for (int i = 0; slots && i < concurrency; i++)
        if (slots[i].h) {
            curl_multi_remove_handle(multi, slots[i].h);
            curl_easy_cleanup(slots[i].h);
            curl_slist_free_all(slots[i].headers);
            gateway_request_free(&slots[i].req);
        }
    free(slots);
    if (multi)
        curl_multi_cleanup(multi);
    gateway_wipe(&g);
    return elapsed;
}

#define CEILING_ROUNDS 3

/* ceiling replays what notify sent in run, at its concurrency, fresh
 * connections and then keep-alive, CEILING_ROUNDS times each, keeping the
 * best of each (other load on the machine only slows a round); clears the
 * simulator around each. */
static int ceiling(bench_t *b, run_t *run)
{
    size_t n = 0;
    replay_t *rq = replays_read(b, &n);
    int err = -1;
    if (!rq || !n || sim_clear(b) != 0) {
        fprintf(stderr, "bench_notify: ceiling: nothing to replay\n");
        goto out;
    }
    run->ceil_n = (long)n;
    for (int k = 0; k < 2 * CEILING_ROUNDS; k++) {
        int fresh = k < CEILING_ROUNDS;
        long ok = 0;
        double cs = bs_proc_cpu_s(b->sim_pid), cb = bs_self_cpu_s();
        double t = ceiling_run(b, rq, n, run->in_flight, fresh, &ok);
        if (t < 0 || sim_clear(b) != 0)
            goto out;
        if (fresh && (run->ceil_fresh_s <= 0 || t < run->ceil_fresh_s)) {
            run->ceil_fresh_s = t;
            run->ceil_ok = ok;
            run->ceil_cpu_sim = bs_proc_cpu_s(b->sim_pid) - cs;
            run->ceil_cpu_self = bs_self_cpu_s() - cb;
        } else if (!fresh && (run->ceil_alive_s <= 0 || t < run->ceil_alive_s)) {
            run->ceil_alive_s = t;
            run->ceil_alive_ok = ok;
        }
    }
    err = 0;
out:
    replays_free(rq, n);
    return err;
}

/* ---- the report ---- */

static double rate_of(const run_t *r)
{
    return r->t_last > 0 ? (double)r->received / r->t_last : -1;
}

static int cmp_usec(const void *a, const void *b)
{
    const cmdstat_t *x = a, *y = b;
    return (y->usec > x->usec) - (y->usec < x->usec);
}

/* print_cmds prints the Redis commands of a run per message, costliest first. */
static void print_cmds(run_t *r)
{
    long long calls = 0, usec = 0;
    double n = r->received > 0 ? (double)r->received : 1;
    qsort(r->cmds, (size_t)r->ncmds, sizeof *r->cmds, cmp_usec);
    for (int i = 0; i < r->ncmds; i++) {
        calls += r->cmds[i].calls;
        usec += r->cmds[i].usec;
    }
    printf("  %-50s %8.1f calls, %.0f us of Redis CPU\n",
           "Redis commands per message, every client", (double)calls / n, (double)usec / n);
    printf("    ");
    for (int i = 0, col = 4; i < r->ncmds && i < 14; i++) {
        char one[80];
        int len = snprintf(one, sizeof one, "%s %.1f (%.0f us)%s", r->cmds[i].name,
                           (double)r->cmds[i].calls / n, (double)r->cmds[i].usec / n,
                           i + 1 < r->ncmds && i < 13 ? ", " : "");
        if (col + len > 100) {
            printf("\n    ");
            col = 4;
        }
        printf("%s", one);
        col += len;
    }
    printf("\n");
}

/* report_run prints one notify run's timeline, CPU and Redis figures. */
static void report_run(run_t *r)
{
    double n = r->received > 0 ? (double)r->received : 1;
    printf("  %-50s %8lld events -> %lld messages expected\n", "absent pupils, first-day events",
           r->events, r->expected);
    printf("  %-50s %8lld (%lld distinct references)%s\n", "messages at the simulator", r->received,
           r->distinct, r->distinct < r->received ? "  DUPLICATES" : "");
    printf("  %-50s %8.0f ms\n", "tick -> rules' outbox written", 1e3 * r->t_outbox);
    printf("  %-50s %8.0f ms\n", "tick -> every event planned by notify", 1e3 * r->t_planned);
    printf("  %-50s %8.0f ms\n", "tick -> first message at the simulator", 1e3 * r->t_first);
    printf("  %-50s %8.0f ms\n", "tick -> last message at the simulator", 1e3 * r->t_last);
    printf("  %-50s %8.0f ms\n", "tick -> every outcome recorded by notify", 1e3 * r->t_recorded);
    printf("  %-50s %8.1f / %.1f / %.1f / %.1f s (%.0f%% / %.0f%% / %.0f%% / %.0f%% of wall)\n",
           "CPU to the last outcome: notify / redis / sim / rules", r->cpu_notify, r->cpu_redis,
           r->cpu_sim, r->cpu_rules, 100 * r->cpu_notify / r->t_end, 100 * r->cpu_redis / r->t_end,
           100 * r->cpu_sim / r->t_end, 100 * r->cpu_rules / r->t_end);
    printf("  %-50s %8.0f / %.0f / %.0f / %.0f us\n",
           "CPU per message: notify / redis / sim / rules", 1e6 * r->cpu_notify / n,
           1e6 * r->cpu_redis / n, 1e6 * r->cpu_sim / n, 1e6 * r->cpu_rules / n);
    printf("  %-50s %8.0f us\n", "wall per message", 1e6 * r->t_last / n);
    printf("  %-50s %8.0f bytes\n", "AOF written per message", (double)r->aof_delta / n);
    printf("  %-50s %8.0f bytes (one rn:msg hash: %lld)\n", "Redis used_memory growth per message",
           (double)r->mem_delta / n, r->msg_bytes);
    printf("  %-50s %8.2f / %.2f ms\n", "disk probe: an fsync'd INCR round trip, before / after",
           r->probe > 0 ? 1e3 / r->probe : -1, r->probe_after > 0 ? 1e3 / r->probe_after : -1);
    print_cmds(r);
}

static void report(bench_t *b, run_t *a, int na, run_t *bb)
{
    const opts_t *o = b->o;
    char model[128], rver[32];
    struct utsname u;
    bs_cpu_model(model, sizeof model);
    uname(&u);
    bs_redis_info_str(b->redis.c, "server", "redis_version", rver, sizeof rver);
    printf("\nbench_notify: a trust of %d schools (%s) x %d pupils, two parents each with a mobile "
           "and an email; the first-day text and email at 09:30\n",
           o->schools, POLICY, o->pupils);
    printf("machine: %ld CPUs, %s, %s %s; redis %s (appendonly yes, appendfsync %s); "
           "libcurl %s\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, u.sysname, u.release, rver, o->appendfsync,
           curl_version_info(CURLVERSION_NOW)->version);
    printf("notify: both channels GOV.UK Notify -> rollcall-gateway-sim (--deliver-after 0ms, "
           "no receipts sent), replay clock, no quiet hours, merge_siblings on (no siblings)\n");
    for (int i = 0; i < na; i++) {
        run_t *r = &a[i];
        printf("\nA%d: no rate limit (--rate-per-minute %d), --max-in-flight %d, %d%% absent\n",
               i + 1, r->rate, r->in_flight, o->absent_pct);
        printf("  %-50s %8.0f messages/s\n", "notify: messages/s, tick to last received",
               rate_of(r));
        printf("  %-50s %8.0f messages/s (best of %d; %ld of %ld answered 201)\n",
               "ceiling: sim alone, same requests, new connections",
               r->ceil_fresh_s > 0 ? (double)r->ceil_n / r->ceil_fresh_s : -1, CEILING_ROUNDS,
               r->ceil_ok, r->ceil_n);
        if (r->ceil_fresh_s > 0 && r->t_last > 0)
            printf("  %-50s %8.2f\n", "ratio notify / ceiling",
                   rate_of(r) / ((double)r->ceil_n / r->ceil_fresh_s));
        printf("  %-50s %8.0f / %.0f us\n", "  ceiling CPU per request: sim / bench (JWT, curl)",
               1e6 * r->ceil_cpu_sim / (double)r->ceil_n,
               1e6 * r->ceil_cpu_self / (double)r->ceil_n);
        printf("  %-50s %8.0f messages/s (best of %d; %ld answered 201)\n",
               "  ceiling with keep-alive connections",
               r->ceil_alive_s > 0 ? (double)r->ceil_n / r->ceil_alive_s : -1, CEILING_ROUNDS,
               r->ceil_alive_ok);
        report_run(r);
    }
    if (bb) {
        /* The limiter (notify.c's rollcall_rate) lets burst + 1 requests go
         * at once, then one per interval: the last of N leaves at
         * (N - burst - 1) intervals. */
        double interval = 60.0 / RATE_NOTIFY;
        int burst = RATE_NOTIFY / 60;
        double floor_s = (double)(bb->expected - burst - 1) * interval;
        printf("\nB: the GOV.UK Notify limit (--rate-per-minute %d: %d/s, a burst of %d), "
               "--max-in-flight %d, a batch of %lld messages\n",
               RATE_NOTIFY, RATE_NOTIFY / 60, burst, bb->in_flight, bb->expected);
        printf("  %-50s %8.2f s\n", "time to send the batch, tick to last received", bb->t_last);
        printf("  %-50s %8.2f s\n", "  first to last message received", bb->t_last - bb->t_first);
        printf("  %-50s %8.2f s ((%lld - %d - 1) / %d per s)\n", "the limiter's floor", floor_s,
               bb->expected, burst, RATE_NOTIFY / 60);
        printf("  %-50s %8.2f (first to last: %.2f)\n", "ratio time / floor", bb->t_last / floor_s,
               (bb->t_last - bb->t_first) / floor_s);
        printf("  %-50s %8.0f messages/s\n", "  messages/s, tick to last received", rate_of(bb));
        report_run(bb);
    }
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_notify [--schools N] [--pupils M] [--absent-pct K] [--batch B]\n"
            "                    [--notify PATH] [--rules PATH] [--ingest PATH] [--sim PATH]\n"
            "                    [--policies-dir DIR] [--templates-dir DIR] [--appendfsync M]\n"
            "                    [--only a|b] [--keep]\n"
            "  --schools N         schools in the trust (1..%d; default 3)\n"
            "  --pupils M          pupils per school (default 500)\n"
            "  --absent-pct K      A: percent of pupils N at 08:55 (default 20)\n"
            "  --batch B           B: messages in the rate-limited batch (default 600)\n"
            "  --notify PATH       rollcall-notify (default %s/services/rollcall-notify)\n"
            "  --rules PATH        rollcall-rules (default %s/services/rollcall-rules)\n"
            "  --ingest PATH       rollcall-ingest (default %s/services/rollcall-ingest)\n"
            "  --sim PATH          rollcall-gateway-sim (default %s/sim/rollcall-gateway-sim)\n"
            "  --policies-dir DIR  policy files (default %s/policies)\n"
            "  --templates-dir DIR message templates (default %s/templates)\n"
            "  --appendfsync M     Redis's appendfsync: always (default, as production),\n"
            "                      everysec or no, to see what the disk costs\n"
            "  --only a|b          make only measurement A (no limit) or B (3,000/min)\n"
            "  --keep              keep the temp dir (AOF, logs) and print where it is\n"
            "needs redis-server (7 or later) on PATH\n",
            SCHOOLS_MAX, ROLLCALL_BINARY_DIR, ROLLCALL_BINARY_DIR, ROLLCALL_BINARY_DIR,
            ROLLCALL_BINARY_DIR, ROLLCALL_SOURCE_DIR, ROLLCALL_SOURCE_DIR);
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.schools = 3, .pupils = 500, .absent_pct = 20, .batch = 600};
    snprintf(o->appendfsync, sizeof o->appendfsync, "always");
    o->run_a = o->run_b = 1;
    snprintf(o->notify, sizeof o->notify, "%s/services/rollcall-notify", ROLLCALL_BINARY_DIR);
    snprintf(o->rules, sizeof o->rules, "%s/services/rollcall-rules", ROLLCALL_BINARY_DIR);
    snprintf(o->ingest, sizeof o->ingest, "%s/services/rollcall-ingest", ROLLCALL_BINARY_DIR);
    snprintf(o->sim, sizeof o->sim, "%s/sim/rollcall-gateway-sim", ROLLCALL_BINARY_DIR);
    snprintf(o->policies_dir, sizeof o->policies_dir, "%s/policies", ROLLCALL_SOURCE_DIR);
    snprintf(o->templates_dir, sizeof o->templates_dir, "%s/templates", ROLLCALL_SOURCE_DIR);
    for (int i = 1; i < argc; i++) {
        long v = 0;
        const char *a = argv[i];
        char *path = strcmp(a, "--notify") == 0          ? o->notify
                     : strcmp(a, "--rules") == 0         ? o->rules
                     : strcmp(a, "--ingest") == 0        ? o->ingest
                     : strcmp(a, "--sim") == 0           ? o->sim
                     : strcmp(a, "--policies-dir") == 0  ? o->policies_dir
                     : strcmp(a, "--templates-dir") == 0 ? o->templates_dir
                                                         : NULL;
        int *num = strcmp(a, "--schools") == 0      ? &o->schools
                   : strcmp(a, "--pupils") == 0     ? &o->pupils
                   : strcmp(a, "--absent-pct") == 0 ? &o->absent_pct
                   : strcmp(a, "--batch") == 0      ? &o->batch
                                                    : NULL;
        long hi = num == &o->schools ? SCHOOLS_MAX : num == &o->absent_pct ? 100 : 99999;
        if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
        } else if (strcmp(a, "--appendfsync") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "always") == 0 || strcmp(argv[i + 1], "everysec") == 0 ||
                    strcmp(argv[i + 1], "no") == 0)) {
            snprintf(o->appendfsync, sizeof o->appendfsync, "%s", argv[++i]);
        } else if (strcmp(a, "--only") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "a") == 0 || strcmp(argv[i + 1], "b") == 0)) {
            o->run_a = argv[++i][0] == 'a';
            o->run_b = !o->run_a;
        } else if (path && i + 1 < argc && strlen(argv[i + 1]) < BS_PATH_MAX) {
            snprintf(path, BS_PATH_MAX, "%s", argv[++i]);
        } else if (num && (v = bs_parse_long(argc, argv, i, 1, hi)) > 0) {
            *num = (int)v;
            i++;
        } else {
            return -1;
        }
    }
    /* B's batch: whole pupils (4 messages each), no more than the trust has. */
    if (o->batch < 4 * (RATE_NOTIFY / 60 + 1) || o->batch % 4 ||
        o->batch / 4 > o->schools * o->pupils) {
        fprintf(stderr,
                "bench_notify: --batch must be a multiple of 4, over %d, and at most 4 "
                "messages per pupil of the trust\n",
                4 * (RATE_NOTIFY / 60 + 1));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    bench_t b = {.o = &o};
    run_t a[2] = {{.label = "A1", .in_flight = 32, .rate = RATE_NONE},
                  {.label = "A2", .in_flight = 128, .rate = RATE_NONE}};
    run_t rb = {.label = "B", .in_flight = 32, .rate = RATE_NOTIFY};
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
        fprintf(stderr, "bench_notify: redis-server must be on PATH "
                        "(Debian/Ubuntu: apt-get install redis-server)\n");
        return EXIT_FAILURE;
    }
    const char *need[][2] = {
        {o.notify, "notify"}, {o.rules, "rules"}, {o.ingest, "ingest"}, {o.sim, "sim"}};
    for (size_t i = 0; i < sizeof need / sizeof *need; i++)
        if (access(need[i][0], X_OK) != 0) {
            fprintf(stderr, "bench_notify: nothing runs at %s: build it or pass --%s PATH\n",
                    need[i][0], need[i][1]);
            return EXIT_FAILURE;
        }
    bs_catch_signals();
    /* The key both ends know: notify signs with it, the simulator checks. */
    setenv("ROLLCALL_NOTIFY_API_KEY", API_KEY, 1);
    setenv("ROLLCALL_SIM_NOTIFY_API_KEY", API_KEY, 1);

    if (bs_make_temp_dir(b.dir) != 0) {
        fprintf(stderr, "bench_notify: mkdtemp %s: %s\n", b.dir, strerror(errno));
        return EXIT_FAILURE;
    }
    snprintf(b.redis.dir, sizeof b.redis.dir, "%s", b.dir);
    int *ports[] = {&b.redis.port, &b.http_port,  &b.ingest_pub,
                    &b.rules_pub,  &b.notify_pub, &b.sim_port};
    int ports_ok = 1;
    for (size_t i = 0; i < sizeof ports / sizeof *ports; i++) {
        /* free_port may hand the same port out twice: each must differ. */
        for (int tries = 0; tries < 20; tries++) {
            *ports[i] = bs_free_port();
            int dup = 0;
            for (size_t k = 0; k < i; k++)
                dup |= *ports[k] == *ports[i];
            if (!dup)
                break;
        }
        ports_ok &= *ports[i] > 0;
    }
    snprintf(b.ingest_url, sizeof b.ingest_url, "http://127.0.0.1:%d", b.http_port);
    snprintf(b.sim_url, sizeof b.sim_url, "http://127.0.0.1:%d", b.sim_port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!ports_ok || !(b.curl = curl_easy_init()) || !(b.sim_curl = curl_easy_init())) {
        fprintf(stderr, "bench_notify: no free loopback port, or libcurl failed\n");
        goto out;
    }
    CURL *handles[] = {b.curl, b.sim_curl};
    for (int i = 0; i < 2; i++) {
        curl_easy_setopt(handles[i], CURLOPT_TIMEOUT, 120L);
        curl_easy_setopt(handles[i], CURLOPT_TCP_NODELAY, 1L);
    }
    fprintf(stderr, "bench_notify: redis-server on %d, ingest on %d, the simulator on %d, in %s\n",
            b.redis.port, b.http_port, b.sim_port, b.dir);
    if (templates_setup(&b) != 0 || bs_redis_start(&b.redis, o.appendfsync) != 0 ||
        bs_ingest_start(o.ingest, b.dir, b.redis.port, b.http_port, b.ingest_pub, b.curl,
                        &b.ingest_pid) != 0 ||
        sim_start(&b) != 0 || rules_start(&b) != 0)
        goto out;
    fprintf(stderr, "bench_notify: loading %d schools x %d pupils, two parents each\n", o.schools,
            o.pupils);
    if (load_trust(&b) != 0 || rules_caught_up(&b, 60000) != 0)
        goto out;

    for (int i = 0; i < 2 && o.run_a; i++) {
        run_t *r = &a[i];
        int absent = register_day(&b, days[i], absent_pct, i);
        if (absent <= 0) {
            if (absent == 0)
                fprintf(stderr, "bench_notify: no pupil marked absent (see --absent-pct)\n");
            goto out;
        }
        r->absent = r->events_expected = absent;
        r->expected = 4LL * absent;
        redis_ok(b.redis.c, "DEL rn:rate:notify:%s", SERVICE_ID);
        if (notify_start(&b, r->label, r->in_flight, r->rate) != 0)
            goto out;
        fprintf(stderr, "bench_notify: %s: %d absent, %lld messages, --max-in-flight %d\n",
                r->label, absent, r->expected, r->in_flight);
        if (measure(&b, days[i], r, 300) != 0 || !r->ok)
            goto out;
        bs_stop(&b.notify_pid, 5000);
        fprintf(stderr, "bench_notify:   %.0f messages/s; the ceiling for the same requests\n",
                rate_of(r));
        if (ceiling(&b, r) != 0)
            goto out;
    }

    if (!o.run_b) {
        report(&b, a, 2, NULL);
        status = EXIT_SUCCESS;
        goto out;
    }
    int absent = register_day(&b, days[2], absent_first, o.batch / 4);
    if (absent <= 0)
        goto out;
    rb.absent = rb.events_expected = absent;
    rb.expected = 4LL * absent;
    redis_ok(b.redis.c, "DEL rn:rate:notify:%s", SERVICE_ID);
    if (notify_start(&b, rb.label, rb.in_flight, rb.rate) != 0)
        goto out;
    fprintf(stderr, "bench_notify: B: %lld messages at %d/min\n", rb.expected, RATE_NOTIFY);
    if (measure(&b, days[2], &rb, 120 + (double)rb.expected / 50) != 0 || !rb.ok)
        goto out;
    report(&b, a, o.run_a ? 2 : 0, &rb);
    status = EXIT_SUCCESS;
out:
    if (b.curl)
        curl_easy_cleanup(b.curl);
    if (b.sim_curl)
        curl_easy_cleanup(b.sim_curl);
    curl_global_cleanup();
    bs_stop(&b.notify_pid, 5000);
    bs_stop(&b.rules_pid, 5000);
    bs_stop(&b.ingest_pid, 5000);
    bs_stop(&b.sim_pid, 5000);
    bs_redis_stop(&b.redis);
    if (o.keep)
        fprintf(stderr, "bench_notify: kept %s\n", b.dir);
    else
        bs_remove_tree(b.dir);
    return status;
}
