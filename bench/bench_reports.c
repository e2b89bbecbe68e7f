/* bench_reports.c - latency of rollcall-reports' trust summary and a school's pupil list.
 *
 * Starts its own redis-server (AOF), rollcall-ingest and rollcall-rules (replay clock) and
 * rollcall-reports in a temp dir; writes a trust of --schools schools x --pupils pupils with
 * scripts/gen-year.sh (its marks up to --to, default the first week: the aggregates' size
 * hardly grows with the days, and rules builds them for real), sends it through `rollcall import`
 * and `rollcall replay`, waits for rules to catch up, then times --requests sequential GETs on one
 * keep-alive connection: the trust summary (every school's totals, and the trust's), a school's
 * pupil list (first page of 100, worst attendance first), a filtered page (one band), and the
 * school's whole list as CSV; beside two floors measured in the same run: reports' own HTTP round
 * trip (GET /healthz) and the Redis reads each answer needs, made by this process over one
 * connection (pipelined as reports pipelines them). Prints p50/p99/max and the ratios; asserts
 * nothing. Usage: bench_reports
 * --help. */
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "benchsupport.h"

#define TOKEN "bench-reports-admin-token-0123456789abcdef"
/* sha256 of TOKEN, as the tokens file stores it (printf %s TOKEN | sha256sum) */
#define TRUST "SMALL-TRUST"

typedef struct {
    int schools, pupils, requests, keep;
    char to[16]; /* the last day of marks (gen-year.sh --to) */
    char ingest[BS_PATH_MAX], rules[BS_PATH_MAX], reports[BS_PATH_MAX], cli[BS_PATH_MAX];
    char source[BS_PATH_MAX];
} opts_t;

typedef struct {
    const opts_t *o;
    bs_redis_t redis;
    char dir[BS_PATH_MAX];
    int ingest_http, ingest_pub, rules_pub, reports_http, la_pub;
    pid_t ingest_pid, rules_pid, reports_pid;
    CURL *curl;
} bench_t;

typedef struct {
    double p50, p99, max; /* milliseconds */
    long bytes;           /* of one answer */
    int ok;
} lat_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_reports --ingest BIN --rules BIN --reports BIN --cli BIN --source DIR\n"
            "                     [--schools 50] [--pupils 1000] [--to 2025-09-05] [--requests 200]"
            " [--keep]\n"
            "bench/bench_reports.sh builds everything and passes the paths.\n");
}

static int parse(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.schools = 50, .pupils = 1000, .requests = 200, .to = "2025-09-05"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *dst = NULL;
        int *num = NULL;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
            continue;
        }
        if (strcmp(a, "--ingest") == 0)
            dst = o->ingest;
        else if (strcmp(a, "--rules") == 0)
            dst = o->rules;
        else if (strcmp(a, "--reports") == 0)
            dst = o->reports;
        else if (strcmp(a, "--cli") == 0)
            dst = o->cli;
        else if (strcmp(a, "--source") == 0)
            dst = o->source;
        else if (strcmp(a, "--schools") == 0)
            num = &o->schools;
        else if (strcmp(a, "--pupils") == 0)
            num = &o->pupils;
        else if (strcmp(a, "--to") == 0 && v && strlen(v) == 10) {
            snprintf(o->to, sizeof o->to, "%s", v);
            i++;
            continue;
        } else if (strcmp(a, "--requests") == 0)
            num = &o->requests;
        if ((!dst && !num) || !v) {
            fprintf(stderr, "bench_reports: %s: %s\n", a, v ? "unknown option" : "needs a value");
            usage(stderr);
            return -1;
        }
        if (dst)
            snprintf(dst, BS_PATH_MAX, "%s", v);
        else if ((*num = atoi(v)) <= 0) {
            fprintf(stderr, "bench_reports: %s wants a positive number, not %s\n", a, v);
            return -1;
        }
        i++;
    }
    if (!o->ingest[0] || !o->rules[0] || !o->reports[0] || !o->cli[0] || !o->source[0]) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* run runs a shell command, quiet; 0 when it exited 0. */
static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "bench_reports: failed (%d): %s\n", rc, cmd);
    return rc == 0 ? 0 : -1;
}

static int start(bench_t *b, pid_t *pid, const char *name, char *const argv[], const char *ready)
{
    char log[BS_PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/%s.log", b->dir, name);
    if ((*pid = bs_spawn(argv, log)) < 0 || bs_wait_log(pid, log, ready, 20000) != 0) {
        fprintf(stderr, "bench_reports: %s did not start (see %s)\n", name, log);
        return -1;
    }
    return 0;
}

static int start_services(bench_t *b)
{
    char rport[16], ihttp[16], ipub[64], rpub[64], phttp[16], lapub[64], pol[BS_PATH_MAX + 16],
        tokens[BS_PATH_MAX + 16];
    snprintf(rport, sizeof rport, "%d", b->redis.port);
    snprintf(ihttp, sizeof ihttp, "%d", b->ingest_http);
    snprintf(ipub, sizeof ipub, "tcp://127.0.0.1:%d", b->ingest_pub);
    snprintf(rpub, sizeof rpub, "tcp://127.0.0.1:%d", b->rules_pub);
    snprintf(phttp, sizeof phttp, "%d", b->reports_http);
    snprintf(lapub, sizeof lapub, "tcp://127.0.0.1:%d", b->la_pub);
    snprintf(pol, sizeof pol, "%s/policies", b->o->source);
    snprintf(tokens, sizeof tokens, "%s/tokens", b->dir);
    char *ingest[] = {(char *)b->o->ingest, "--redis-port", rport,     "--http-port", ihttp,
                      "--pub-endpoint",     ipub,           "--clock", "replay",      NULL};
    char *rules[] = {(char *)b->o->rules,
                     "--redis-port",
                     rport,
                     "--ingest-endpoints",
                     ipub,
                     "--pub-endpoint",
                     rpub,
                     "--policies-dir",
                     pol,
                     "--clock",
                     "replay",
                     NULL};
    char *reports[] = {(char *)b->o->reports,
                       "--redis-port",
                       rport,
                       "--http-port",
                       phttp,
                       "--rules-endpoints",
                       rpub,
                       "--la-pub-endpoint",
                       lapub,
                       "--tokens-file",
                       tokens,
                       NULL};
    FILE *f = fopen(tokens, "w");
    if (!f)
        return -1;
    /* The token's hash, made the way docs/reports-api.md tells operators to. */
    char cmd[BS_PATH_MAX * 2];
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "printf '%%s %%s\\n' \"$(printf %%s '%s' | sha256sum | cut -d' ' -f1)\" "
             "'admin bench' > '%s'",
             TOKEN, tokens);
    if (run(cmd) != 0)
        return -1;
    return start(b, &b->ingest_pid, "ingest", ingest, "\"service.ready\"") ||
                   start(b, &b->rules_pid, "rules", rules, "\"service.ready\"") ||
                   start(b, &b->reports_pid, "reports", reports, "\"service.ready\"")
               ? -1
               : 0;
}

/* load writes the trust with gen-year.sh and sends it through the CLI. */
static int load(bench_t *b)
{
    char cmd[BS_PATH_MAX * 4], url[64];
    const char *to = b->o->to;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", b->ingest_http);
    double t0 = bs_now_s();
    snprintf(cmd, sizeof cmd,
             "'%s/scripts/gen-year.sh' '%s/year' --schools %d --pupils %d --to %s >/dev/null",
             b->o->source, b->dir, b->o->schools, b->o->pupils, to);
    if (run(cmd) != 0)
        return -1;
    const char *kinds[] = {"schools", "calendar", "pupils", "contacts"};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "'%s' import %s '%s/year/%s.csv' --url %s --quiet >/dev/null",
                 b->o->cli, kinds[i], b->dir, kinds[i], url);
        if (run(cmd) != 0)
            return -1;
    }
    snprintf(cmd, sizeof cmd, "'%s' replay '%s/year/replay.txt' --url %s --quiet >/dev/null",
             b->o->cli, b->dir, url);
    if (run(cmd) != 0)
        return -1;
    printf("loaded %d schools x %d pupils, school days to %s, in %.1f s\n", b->o->schools,
           b->o->pupils, to, bs_now_s() - t0);
    return 0;
}

/* caught_up is true when rules has applied every school's whole log. */
static int caught_up(bench_t *b)
{
    redisReply *u = redisCommand(b->redis.c, "SMEMBERS rc:schools");
    int done = u && u->type == REDIS_REPLY_ARRAY && u->elements == (size_t)b->o->schools;
    for (size_t i = 0; done && i < u->elements; i++) {
        redisReply *a = redisCommand(b->redis.c, "GET rc:seq:{%s}", u->element[i]->str);
        redisReply *p = redisCommand(b->redis.c, "HGET rs:school:{%s} pos", u->element[i]->str);
        done = a && p && a->type == REDIS_REPLY_STRING && p->type == REDIS_REPLY_STRING &&
               strcmp(a->str, p->str) == 0;
        freeReplyObject(a);
        freeReplyObject(p);
    }
    freeReplyObject(u);
    return done;
}

/* ---- timing ---- */

static void summarise(double *ms, int n, lat_t *out)
{
    out->max = 0;
    for (int i = 0; i < n; i++)
        out->max = ms[i] > out->max ? ms[i] : out->max;
    out->p50 = bs_percentile(ms, (size_t)n, 50);
    out->p99 = bs_percentile(ms, (size_t)n, 99);
}

/* time_get GETs path --requests times (after 5 unmeasured); ok when every
 * answer was 200. */
static lat_t time_get(bench_t *b, const char *path)
{
    lat_t l = {.ok = 1};
    char url[512];
    int n = b->o->requests;
    double *ms = calloc((size_t)n, sizeof *ms);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", b->reports_http, path);
    for (int i = -5; i < n && ms && !bs_stopping; i++) {
        bs_resp_t r;
        double t0 = bs_now_s();
        int rc = bs_http_get(b->curl, url, TOKEN, &r);
        double t = (bs_now_s() - t0) * 1000.0;
        if (rc != 0 || r.status != 200) {
            if (l.ok)
                fprintf(stderr, "bench_reports: GET %s: %ld %.200s\n", path, r.status,
                        r.body ? r.body : "");
            l.ok = 0;
        }
        l.bytes = (long)r.len;
        free(r.body);
        if (i >= 0)
            ms[i] = t;
    }
    if (ms)
        summarise(ms, n, &l);
    free(ms);
    return l;
}

/* The Redis floors: the reads each answer needs, from this process. */
typedef enum { FLOOR_TRUST, FLOOR_PAGE } floor_t;

static void floor_once(bench_t *b, floor_t what, redisReply *urns, const char *urn)
{
    redisContext *c = b->redis.c;
    int n = 0;
    if (what == FLOOR_TRUST) {
        for (size_t i = 0; i < urns->elements; i++) {
            redisAppendCommand(c, "HGETALL rs:agg:{%s}", urns->element[i]->str);
            redisAppendCommand(c, "HGETALL rs:wk:{%s}", urns->element[i]->str);
            redisAppendCommand(c, "HMGET rc:school:{%s} name la_code trust_id",
                               urns->element[i]->str);
            n += 3;
        }
    } else {
        redisReply *page = redisCommand(c, "ZRANGE rs:ix:{%s}:att 0 99", urn);
        for (size_t i = 0; page && i < page->elements; i++) {
            redisAppendCommand(c, "HGETALL rs:pupil:{%s}:%s", urn, page->element[i]->str);
            redisAppendCommand(c, "HMGET rc:pupil:{%s}:%s forename surname year_group", urn,
                               page->element[i]->str);
            n += 2;
        }
        freeReplyObject(page);
    }
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) == REDIS_OK)
            freeReplyObject(r);
    }
}

static lat_t time_floor(bench_t *b, floor_t what, const char *urn)
{
    lat_t l = {.ok = 1};
    int n = b->o->requests;
    double *ms = calloc((size_t)n, sizeof *ms);
    redisReply *urns = redisCommand(b->redis.c, "SMEMBERS rc:trust:%s", TRUST);
    for (int i = -5; i < n && ms && urns && !bs_stopping; i++) {
        double t0 = bs_now_s();
        floor_once(b, what, urns, urn);
        if (i >= 0)
            ms[i] = (bs_now_s() - t0) * 1000.0;
    }
    if (ms)
        summarise(ms, n, &l);
    freeReplyObject(urns);
    free(ms);
    return l;
}

static void print_row(const char *name, const lat_t *l, const lat_t *floor_redis,
                      const lat_t *floor_http)
{
    printf("| %-34s | %8.2f | %8.2f | %8.2f | %9ld |", name, l->p50, l->p99, l->max, l->bytes);
    if (floor_redis && floor_http)
        printf(" %5.1fx | %5.1fx |", l->p50 / (floor_redis->p50 + floor_http->p50),
               l->p50 / floor_http->p50);
    else
        printf("        |        |");
    printf("%s\n", l->ok ? "" : " FAILED");
}

/* first_band returns the band of the school's worst pupil (for the filtered page). */
static void first_band(bench_t *b, const char *urn, char *out, size_t n)
{
    redisReply *r = redisCommand(b->redis.c, "ZRANGE rs:ix:{%s}:att 0 0", urn);
    redisReply *band =
        r && r->type == REDIS_REPLY_ARRAY && r->elements
            ? redisCommand(b->redis.c, "HGET rs:pupil:{%s}:%s band", urn, r->element[0]->str)
            : NULL;
    snprintf(out, n, "%s", band && band->type == REDIS_REPLY_STRING ? band->str : "");
    freeReplyObject(band);
    freeReplyObject(r);
}

static int measure(bench_t *b)
{
    const char *urn = "100201";
    char path[256], band[64];
    first_band(b, urn, band, sizeof band);
    lat_t health = time_get(b, "/healthz");
    lat_t trust_floor = time_floor(b, FLOOR_TRUST, urn);
    lat_t page_floor = time_floor(b, FLOOR_PAGE, urn);
    snprintf(path, sizeof path, "/v1/trusts/%s/summary", TRUST);
    lat_t trust = time_get(b, path);
    snprintf(path, sizeof path, "/v1/schools/%s/summary", urn);
    lat_t school = time_get(b, path);
    snprintf(path, sizeof path, "/v1/schools/%s/pupils?limit=100", urn);
    lat_t page = time_get(b, path);
    snprintf(path, sizeof path, "/v1/schools/%s/pupils?limit=100&band=%s", urn, band);
    lat_t filtered = time_get(b, path);
    snprintf(path, sizeof path, "/v1/schools/%s/pupils?format=csv&limit=1000", urn);
    lat_t csv = time_get(b, path);

    printf("\n%d sequential requests each, one keep-alive connection (ms):\n\n", b->o->requests);
    printf("| %-34s | %8s | %8s | %8s | %9s | %6s | %6s |\n", "request", "p50", "p99", "max",
           "bytes", "/floor", "/http");
    printf("|%s|\n", "------------------------------------|----------|----------|----------|----"
                     "-------|--------|--------");
    print_row("trust summary (50 schools)", &trust, &trust_floor, &health);
    print_row("school summary", &school, NULL, NULL);
    print_row("pupil list, first 100", &page, &page_floor, &health);
    print_row("pupil list, one band, first 100", &filtered, &page_floor, &health);
    print_row("pupil list, CSV, all", &csv, NULL, NULL);
    print_row("floor: GET /healthz (HTTP only)", &health, NULL, NULL);
    print_row("floor: Redis reads, trust summary", &trust_floor, NULL, NULL);
    print_row("floor: Redis reads, pupil page", &page_floor, NULL, NULL);
    printf("\n/floor: p50 over (the Redis reads' p50 + the HTTP round trip's p50), both made in "
           "this run.\n/http: p50 over the HTTP round trip alone.\n");
    return trust.ok && school.ok && page.ok && filtered.ok && csv.ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    opts_t o;
    bench_t b = {.o = &o};
    int status = 1;
    if (parse(argc, argv, &o) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows when piped to a file */
    signal(SIGINT, bs_on_signal);
    signal(SIGTERM, bs_on_signal);
    if (bs_find_program("redis-server", b.redis.server) != 0) {
        fprintf(stderr, "bench_reports: redis-server is not on PATH\n");
        return 1;
    }
    snprintf(b.dir, sizeof b.dir, "/tmp/bench_reports.XXXXXX");
    if (!mkdtemp(b.dir)) {
        perror("bench_reports: mkdtemp");
        return 1;
    }
    snprintf(b.redis.dir, sizeof b.redis.dir, "%s", b.dir);
    struct utsname u;
    uname(&u);
    printf("bench_reports on %s %s, %ld CPUs; temp dir %s\n", u.sysname, u.release,
           sysconf(_SC_NPROCESSORS_ONLN), b.dir);
    b.ingest_http = bs_free_port();
    b.ingest_pub = bs_free_port();
    b.rules_pub = bs_free_port();
    b.reports_http = bs_free_port();
    b.la_pub = bs_free_port();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    b.curl = curl_easy_init();
    if (!b.curl || bs_redis_start(&b.redis, "everysec") != 0 || start_services(&b) != 0 ||
        load(&b) != 0)
        goto out;
    double t0 = bs_now_s();
    while (!bs_stopping && !caught_up(&b))
        bs_sleep_ms(200);
    printf("rules caught up in %.1f s after the replay\n", bs_now_s() - t0);
    redisReply *mem = redisCommand(b.redis.c, "MEMORY USAGE rs:agg:{100201}");
    if (mem && mem->type == REDIS_REPLY_INTEGER)
        printf("one school's rs:agg: %lld bytes\n", mem->integer);
    freeReplyObject(mem);
    status = measure(&b) == 0 ? 0 : 1;
out:
    bs_stop(&b.reports_pid, 5000);
    bs_stop(&b.rules_pid, 5000);
    bs_stop(&b.ingest_pid, 5000);
    bs_redis_stop(&b.redis);
    if (b.curl)
        curl_easy_cleanup(b.curl);
    curl_global_cleanup();
    if (!o.keep && status == 0)
        bs_remove_tree(b.dir);
    else
        printf("logs kept in %s\n", b.dir);
    return status;
}
