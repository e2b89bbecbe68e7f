/* test_reports_e2e.c - the reports API over what the real services wrote: a
 * generated school year (scripts/gen-year.sh) through ingest and rules,
 * then every summary and list checked against the pupils' stored state
 * (rs:pupil hashes, read here), not against the totals rules keeps. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/codec.h"
#include "rollcall/ids.h"
#include "rollcall/policy.h"
#include "rollcall/records.h"
#include "testsupport.h"

static ts_redis_t redis;
static ts_proc_t ingest, rules, reports;
static int ingest_port, reports_port;

#define TRUST "SMALL-TRUST"
#define LA    "909"

/* ---- the year through ingest and rules ---- */

static void setup(void)
{
    char year[128], tokens[128];
    ts_redis_start(&redis, 0);
    ingest_port = ts_free_port();
    int pub = ts_free_port();
    ts_start_ingest(&ingest, &redis, ingest_port, pub, NULL);
    snprintf(year, sizeof year, "%s/year", redis.dir);
    ts_gen_year(year, NULL);
    ts_load_year(ingest_port, year);
    ts_start_rules(&rules, &redis, "rules", pub, ts_free_port(), NULL);
    ts_wait_rules_caught_up(&redis, 180000);
    snprintf(tokens, sizeof tokens, "%s/tokens", redis.dir);
    ts_write_tokens(tokens, &(ts_token_t){"tok-admin", "admin", "ops"}, 1);
    reports_port = ts_free_port();
    ts_start_reports(&reports, &redis, reports_port, 0, tokens, NULL);
}

static void teardown(void)
{
    cr_expect_eq(ts_proc_stop(&reports, SIGTERM, 5000), 0);
    cr_expect_eq(ts_proc_stop(&rules, SIGTERM, 5000), 0);
    ts_proc_stop(&ingest, SIGTERM, 5000);
    ts_keep_dir(redis.dir);
    ts_redis_stop(&redis);
}

TestSuite(reports_e2e, .init = setup, .fini = teardown, .timeout = 300);

/* ---- the pupils' stored state, summed here ---- */

typedef struct {
    long pupils, possible, attended, authorised, unauthorised, pa, sa;
} sums_t;

#define NYEARS 17 /* -2 .. 14 */

typedef struct {
    char upn[RC_UPN_LEN + 1];
    int year; /* -100 when unknown */
    unsigned flags;
    double pct; /* -1 when none */
    int pa, sa;
    char band[64];
    char stages[256]; /* ";track=stage;" for each stored stage field, "" stage as none */
    sums_t one;
} pupil_t;

typedef struct {
    size_t n;
    pupil_t *p;
    sums_t all, year[NYEARS], cohort[5];
} school_t;

static const char *const cohorts[5] = {"sen", "fsm", "eal", "cla", "social_worker"};
static const unsigned cohort_flags[5] = {PUPIL_SEN, PUPIL_FSM, PUPIL_EAL, PUPIL_CLA,
                                         PUPIL_SOCIAL_WORKER};

static void add(sums_t *s, const sums_t *p)
{
    s->pupils += p->pupils;
    s->possible += p->possible;
    s->attended += p->attended;
    s->authorised += p->authorised;
    s->unauthorised += p->unauthorised;
    s->pa += p->pa;
    s->sa += p->sa;
}

static const char *field(const redisReply *h, const char *name)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (strcmp(h->element[i]->str, name) == 0)
            return h->element[i + 1]->str;
    return NULL;
}

static long lfield(const redisReply *h, const char *name)
{
    const char *v = field(h, name);
    return v ? strtol(v, NULL, 10) : 0;
}

static void read_pupil(redisContext *c, const char *urn, pupil_t *p)
{
    redisReply *h = redisCommand(c, "HGETALL rs:pupil:{%s}:%s", urn, p->upn);
    redisReply *ref = redisCommand(c, "HMGET rc:pupil:{%s}:%s year_group flags", urn, p->upn);
    cr_assert(h && h->type == REDIS_REPLY_ARRAY && h->elements > 0, "%s", p->upn);
    const char *pct = field(h, "attendance_pct"), *band = field(h, "band");
    p->pct = pct && pct[0] ? strtod(pct, NULL) : -1;
    p->pa = lfield(h, "persistent_absentee") == 1;
    p->sa = lfield(h, "severe_absentee") == 1;
    snprintf(p->band, sizeof p->band, "%s", band ? band : "");
    p->one = (sums_t){1,
                      lfield(h, "possible_sessions"),
                      lfield(h, "attended_sessions"),
                      lfield(h, "authorised_absences"),
                      lfield(h, "unauthorised_absences"),
                      p->pa,
                      p->sa};
    size_t used = 0;
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (strncmp(h->element[i]->str, "stage:", 6) == 0)
            used += (size_t)snprintf(p->stages + used, sizeof p->stages - used, ";%s=%s;",
                                     h->element[i]->str + 6,
                                     h->element[i + 1]->str[0] ? h->element[i + 1]->str : "none");
    p->year = ref->element[0]->type == REDIS_REPLY_STRING ? atoi(ref->element[0]->str) : -100;
    p->flags = ref->element[1]->type == REDIS_REPLY_STRING
                   ? (unsigned)strtoul(ref->element[1]->str, NULL, 10)
                   : 0;
    freeReplyObject(ref);
    freeReplyObject(h);
}

static void read_school(const char *urn, school_t *s)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *m = redisCommand(c, "SMEMBERS rs:pupils:{%s}", urn);
    memset(s, 0, sizeof *s);
    s->n = m->elements;
    s->p = calloc(s->n + 1, sizeof *s->p);
    for (size_t i = 0; i < s->n; i++) {
        pupil_t *p = &s->p[i];
        snprintf(p->upn, sizeof p->upn, "%s", m->element[i]->str);
        read_pupil(c, urn, p);
        add(&s->all, &p->one);
        if (p->year >= -2 && p->year <= 14)
            add(&s->year[p->year + 2], &p->one);
        for (int k = 0; k < 5; k++)
            if (p->flags & cohort_flags[k])
                add(&s->cohort[k], &p->one);
    }
    freeReplyObject(m);
    redisFree(c);
}

/* ---- the API ---- */

static ts_http_resp_t get(const char *path)
{
    return ts_http_get_bearer(reports_port, path, "tok-admin", 0);
}

static json_t *get_json(const char *path, long *total)
{
    ts_http_resp_t r = get(path);
    cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body ? r.body : "");
    cr_assert(r.json, "%s", path);
    if (total) {
        char n[32];
        cr_assert(ts_http_header(&r, "X-Total-Count", n, sizeof n), "%s: no X-Total-Count", path);
        *total = strtol(n, NULL, 10);
    }
    json_t *j = json_incref(r.json);
    ts_http_resp_free(&r);
    return j;
}

static json_int_t num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_integer(v), "%s is not an integer", k);
    return json_integer_value(v);
}

/* expect_measures checks a measures object against sums s. */
static void expect_measures(const json_t *o, const sums_t *s, const char *what)
{
    cr_assert(json_is_object(o), "%s: no measures", what);
    cr_expect_eq(num(o, "pupils"), s->pupils, "%s pupils", what);
    cr_expect_eq(num(o, "possible_sessions"), s->possible, "%s possible", what);
    cr_expect_eq(num(o, "attended_sessions"), s->attended, "%s attended", what);
    cr_expect_eq(num(o, "authorised_absences"), s->authorised, "%s authorised", what);
    cr_expect_eq(num(o, "unauthorised_absences"), s->unauthorised, "%s unauthorised", what);
    cr_expect_eq(num(o, "persistent_absentees"), s->pa, "%s pa", what);
    cr_expect_eq(num(o, "severe_absentees"), s->sa, "%s sa", what);
    json_t *pct = json_object_get(o, "attendance_pct");
    if (s->possible == 0)
        cr_expect(json_is_null(pct), "%s pct", what);
    else
        cr_expect_float_eq(json_number_value(pct),
                           (double)(long)(1000.0 * s->attended / s->possible + 0.5) / 10.0, 1e-9,
                           "%s pct", what);
}

static void expect_summary(const char *urn, const school_t *s, const json_t *o)
{
    char what[64];
    expect_measures(o, &s->all, urn);
    json_t *years = json_object_get(o, "by_year_group");
    size_t nyears = 0;
    for (int y = 0; y < NYEARS; y++) {
        if (!s->year[y].pupils)
            continue;
        char key[8];
        snprintf(key, sizeof key, "%d", y - 2);
        snprintf(what, sizeof what, "%s year %s", urn, key);
        expect_measures(json_object_get(years, key), &s->year[y], what);
        nyears++;
    }
    cr_expect_eq(json_object_size(years), nyears, "%s: year groups", urn);
    for (int k = 0; k < 5; k++) {
        snprintf(what, sizeof what, "%s %s", urn, cohorts[k]);
        expect_measures(json_object_get(json_object_get(o, "by_cohort"), cohorts[k]), &s->cohort[k],
                        what);
        expect_measures(json_object_get(o, cohorts[k]), &s->cohort[k], what);
    }
    /* bands: each band's pupils are the pupils whose stored band it is */
    size_t i;
    json_t *b;
    long banded = 0, with_band = 0;
    json_array_foreach(json_object_get(o, "bands"), i, b)
    {
        const char *name = json_string_value(json_object_get(b, "band"));
        long want = 0;
        for (size_t k = 0; k < s->n; k++)
            want += strcmp(s->p[k].band, name) == 0;
        cr_expect_eq(num(b, "pupils"), want, "%s band %s", urn, name);
        banded += want;
    }
    for (size_t k = 0; k < s->n; k++)
        with_band += s->p[k].band[0] != 0;
    cr_expect_eq(banded, with_band, "%s: every band listed", urn);
    /* stages: each count is the pupils whose stored stage it is */
    const char *track, *stage;
    json_t *t, *n;
    json_object_foreach(json_object_get(o, "stages"), track, t)
    {
        long sum = 0;
        json_object_foreach(t, stage, n)
        {
            char needle[200];
            long want = 0;
            snprintf(needle, sizeof needle, ";%s=%s;", track, stage);
            for (size_t k = 0; k < s->n; k++)
                want += strstr(s->p[k].stages, needle) != NULL;
            cr_expect_eq(json_integer_value(n), want, "%s %s", urn, needle);
            sum += json_integer_value(n);
        }
        cr_expect_eq(sum, (long)s->n, "%s: track %s covers every pupil", urn, track);
    }
}

/* ---- the tests ---- */

Test(reports_e2e, summaries_equal_the_pupils_stored_state)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *u = ts_school_urns(c);
    redisFree(c);
    json_t *trust = get_json("/v1/trusts/" TRUST "/summary", NULL);
    json_t *schools = json_object_get(trust, "schools");
    cr_assert_eq(json_array_size(schools), u->elements);
    sums_t total = {0};
    for (size_t i = 0; i < u->elements; i++) {
        const char *urn = u->element[i]->str;
        char path[64];
        school_t s;
        read_school(urn, &s);
        cr_assert_gt(s.n, 0, "%s has pupils with state", urn);
        snprintf(path, sizeof path, "/v1/schools/%s/summary", urn);
        json_t *o = get_json(path, NULL);
        expect_summary(urn, &s, o);
        cr_expect_gt(json_array_size(json_object_get(o, "weekly")), 30, "a year of weeks");
        /* the trust's row for the school is the same summary */
        json_object_del(o, "weekly");
        cr_expect(json_equal(o, json_array_get(schools, i)), "%s in the trust", urn);
        add(&total, &s.all);
        json_decref(o);
        free(s.p);
    }
    expect_measures(json_object_get(trust, "total"), &total, "trust total");
    /* the trust's weekly trend sums to its sessions */
    size_t i;
    json_t *w;
    long possible = 0;
    json_array_foreach(json_object_get(json_object_get(trust, "total"), "weekly"), i, w) possible +=
        num(w, "possible_sessions");
    cr_expect_eq(possible, total.possible, "the weeks add up to the year");
    json_decref(trust);
    json_t *la = get_json("/v1/la/" LA "/summary", NULL);
    expect_measures(json_object_get(la, "total"), &total, "LA total");
    json_decref(la);
    freeReplyObject(u);
}

/* Bands and stages come in the order of each school's policy file, every
 * one of them, as its people know them. */
Test(reports_e2e, bands_and_stages_in_the_policy_order)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *u = ts_school_urns(c);
    for (size_t i = 0; i < u->elements; i++) {
        const char *urn = u->element[i]->str;
        redisReply *name = redisCommand(c, "HGET rc:school:{%s} policy", urn);
        char path[256], err[POLICY_ERR_MAX];
        policy_t *pol = NULL;
        snprintf(path, sizeof path, "%s/policies/%s.yaml", ROLLCALL_SOURCE_DIR, name->str);
        cr_assert_eq(policy_load_file(path, &pol, err), RC_OK, "%s", err);
        snprintf(path, sizeof path, "/v1/schools/%s/summary", urn);
        json_t *o = get_json(path, NULL), *bands = json_object_get(o, "bands");
        cr_assert_eq(json_array_size(bands), pol->nbands, "%s: every band", urn);
        for (size_t b = 0; b < pol->nbands; b++)
            cr_expect_str_eq(json_string_value(json_object_get(json_array_get(bands, b), "band")),
                             pol->bands[b].name, "%s band %zu", urn, b);
        json_t *stages = json_object_get(o, "stages");
        for (size_t t = 0; t < pol->ntracks; t++) {
            json_t *tr = json_object_get(stages, pol->tracks[t].id);
            cr_assert_not_null(tr, "%s track %s", urn, pol->tracks[t].id);
            cr_assert_eq(json_object_size(tr), pol->tracks[t].nstages + 1, "every stage and none");
            const char *key;
            json_t *v;
            size_t k = 0;
            json_object_foreach(tr, key, v)
            {
                const char *want =
                    k < pol->tracks[t].nstages ? pol->tracks[t].stages[k].id : "none";
                cr_expect_str_eq(key, want, "%s %s stage %zu", urn, pol->tracks[t].id, k);
                k++;
            }
        }
        json_decref(o);
        policy_destroy(&pol);
        freeReplyObject(name);
    }
    freeReplyObject(u);
    redisFree(c);
}

/* expect_list checks that path lists exactly the pupils of s that keep(p)
 * accepts, worst attendance first. */
static void expect_list(const char *path, const school_t *s, int (*keep)(const pupil_t *, void *),
                        void *ctx)
{
    long total;
    json_t *a = get_json(path, &total);
    size_t want = 0, i;
    for (size_t k = 0; k < s->n; k++)
        want += keep(&s->p[k], ctx) != 0;
    cr_expect_eq((size_t)total, want, "%s", path);
    cr_expect_eq(json_array_size(a), want, "%s", path);
    cr_expect_gt(want, 0, "%s: a filter that keeps someone", path);
    json_t *row;
    double last = -2;
    json_array_foreach(a, i, row)
    {
        const char *upn = json_string_value(json_object_get(row, "upn"));
        const pupil_t *p = NULL;
        for (size_t k = 0; k < s->n && !p; k++)
            if (strcmp(s->p[k].upn, upn) == 0)
                p = &s->p[k];
        cr_assert(p, "%s: %s is not a pupil with state", path, upn);
        cr_expect(keep(p, ctx), "%s: %s should not be listed", path, upn);
        double pct = p->pct < 0 ? 1000 : p->pct;
        cr_expect_geq(pct, last, "%s: worst first", path);
        last = pct;
    }
    json_decref(a);
}

static int keep_year_pa(const pupil_t *p, void *ctx)
{
    return p->year == *(int *)ctx && p->pa;
}

static int keep_band(const pupil_t *p, void *ctx)
{
    return strcmp(p->band, ctx) == 0;
}

static int keep_cohort(const pupil_t *p, void *ctx)
{
    return (p->flags & *(unsigned *)ctx) != 0;
}

static int keep_stage(const pupil_t *p, void *ctx)
{
    return strstr(p->stages, ctx) != NULL;
}

Test(reports_e2e, lists_match_the_stored_fields_and_pages_cover_every_row)
{
    school_t s;
    char path[400], needle[160];
    read_school("100201", &s);
    /* filters, each checked against the stored fields */
    const pupil_t *pa = NULL, *banded = NULL;
    needle[0] = '\0';
    for (size_t k = 0; k < s.n; k++) {
        if (!pa && s.p[k].pa && s.p[k].year > -100)
            pa = &s.p[k];
        if (!banded && s.p[k].band[0])
            banded = &s.p[k];
        /* a ";track=stage;" of this pupil that is not "none" */
        for (const char *seg = s.p[k].stages; !needle[0] && *seg; seg = strchr(seg + 1, ';') + 1) {
            size_t len = (size_t)(strchr(seg + 1, ';') - seg) + 1;
            if (len < 7 || strncmp(seg + len - 6, "=none;", 6) != 0)
                snprintf(needle, sizeof needle, "%.*s", (int)len, seg);
        }
    }
    cr_assert(pa && banded && needle[0], "the year has a PA pupil, a band and a stage");
    snprintf(path, sizeof path, "/v1/schools/100201/pupils?pa=1&year=%d&limit=1000", pa->year);
    expect_list(path, &s, keep_year_pa, (void *)&pa->year);
    snprintf(path, sizeof path, "/v1/schools/100201/pupils?band=%s&limit=1000", banded->band);
    expect_list(path, &s, keep_band, (void *)banded->band);
    unsigned sen = PUPIL_SEN;
    int any_sen = 0;
    for (size_t k = 0; k < s.n; k++)
        any_sen |= (s.p[k].flags & PUPIL_SEN) != 0;
    if (any_sen)
        expect_list("/v1/schools/100201/pupils?cohort=sen&limit=1000", &s, keep_cohort, &sen);
    char ts[160];
    snprintf(ts, sizeof ts, "%.*s", (int)strlen(needle) - 2, needle + 1);
    *strchr(ts, '=') = ':';
    snprintf(path, sizeof path, "/v1/schools/100201/pupils?stage=%s&limit=1000", ts);
    expect_list(path, &s, keep_stage, needle);
    /* the same track's pupils on no stage */
    char none_needle[200];
    *strchr(ts, ':') = '\0';
    snprintf(none_needle, sizeof none_needle, ";%s=none;", ts);
    snprintf(path, sizeof path, "/v1/schools/100201/pupils?stage=%s:none&limit=1000", ts);
    expect_list(path, &s, keep_stage, none_needle);

    /* pages of 7 cover every pupil once */
    int *seen = calloc(s.n + 1, sizeof *seen);
    long total = 0, rows = 0;
    for (long offset = 0;; offset += 7) {
        snprintf(path, sizeof path, "/v1/schools/100201/pupils?limit=7&offset=%ld", offset);
        json_t *a = get_json(path, &total);
        size_t i;
        json_t *row;
        json_array_foreach(a, i, row)
        {
            for (size_t k = 0; k < s.n; k++)
                seen[k] += strcmp(s.p[k].upn, json_string_value(json_object_get(row, "upn"))) == 0;
            rows++;
        }
        size_t n = json_array_size(a);
        json_decref(a);
        if (n < 7)
            break;
    }
    cr_expect_eq(total, (long)s.n);
    cr_expect_eq(rows, (long)s.n);
    for (size_t k = 0; k < s.n; k++)
        cr_expect_eq(seen[k], 1, "%s seen %d times", s.p[k].upn, seen[k]);
    free(seen);
    free(s.p);
}

/* referrals_in counts the referral events of urn's outbox. */
static long referrals_in(const char *urn)
{
    redisContext *c = ts_redis_connect(&redis);
    redisReply *r = redisCommand(c, "XRANGE rs:outbox:{%s} - +", urn);
    long n = 0;
    for (size_t k = 0; k < r->elements; k++) {
        const redisReply *f = r->element[k]->element[1];
        wire_msg_t m;
        cr_assert_eq(
            codec_decode((const uint8_t *)f->element[1]->str, f->element[1]->len, &m, NULL), RC_OK);
        n += m.kind == WIRE_PUPIL_EVENT && m.u.event.kind == EVENT_REFERRAL;
    }
    freeReplyObject(r);
    redisFree(c);
    return n;
}

Test(reports_e2e, la_referrals_are_every_referral_of_its_schools)
{
    long total, want = 0, school_total;
    const char *urns[] = {"100201", "100202", "100203"};
    for (int i = 0; i < 3; i++) {
        char path[80];
        long n = referrals_in(urns[i]);
        snprintf(path, sizeof path, "/v1/schools/%s/referrals?limit=1000", urns[i]);
        json_decref(get_json(path, &school_total));
        cr_expect_eq(school_total, n, "%s", urns[i]);
        want += n;
    }
    cr_assert_gt(want, 0);
    json_t *a = get_json("/v1/la/" LA "/referrals?limit=1000", &total);
    cr_expect_eq(total, want);
    size_t i;
    json_t *row;
    const char *last = "9999-99-99";
    json_array_foreach(a, i, row)
    {
        const char *d = json_string_value(json_object_get(row, "date"));
        cr_expect_leq(strcmp(d, last), 0, "newest first");
        last = d;
        cr_expect(json_is_string(json_object_get(row, "school_name")));
    }
    json_decref(a);
    json_decref(get_json("/v1/la/" LA "/referrals?kind=cme", &total));
    cr_expect_eq(total, 3, "one CME story per school (gen-year.sh)");
}
