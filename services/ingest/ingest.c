/* ingest.c - validate, store and publish what schools send: reference data
 * into Redis, marks, ticks and case facts into each school's log. */
#include "ingest/ingest.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zmq.h>

#include "common/refdata.h"
#include "common/schoollog.h"
#include "rollcall/codec.h"
#include "rollcall/log.h"
#include "rollcall/records.h"

#define KEY_MAX 96

/* ---- counters for /metrics ---- */

enum {
    PATH_SCHOOLS,
    PATH_CALENDAR,
    PATH_PUPILS,
    PATH_CONTACTS,
    PATH_MARKS,
    PATH_CASES,
    PATH_CLOCK,
    PATH_OTHER,
    PATH__COUNT
};
static const char *const path_names[PATH__COUNT] = {"schools", "calendar", "pupils", "contacts",
                                                    "marks",   "cases",    "clock",  "other"};

typedef struct {
    uint64_t requests[PATH__COUNT][6]; /* by status class 1xx..5xx (index 1..5) */
    uint64_t accepted[PATH__COUNT];
    uint64_t duplicates[PATH__COUNT];
    uint64_t rejected[PATH__COUNT];
    uint64_t superseded;
    uint64_t published;
    uint64_t publish_failed;
    uint64_t redis_errors;
} counters_t;

/* A school as marks are checked against it; reloaded when its refver moves. */
typedef struct {
    char urn[RC_URN_LEN + 1];
    char la_code[RC_LA_LEN + 1];
    long long refver;
    uint64_t checked; /* the request in which refver was last checked */
    calendar_t *cal;
} school_t;

struct ingest {
    const ingest_config_t *cfg;
    redisContext *redis;
    void *pub;
    school_t *schools;
    size_t nschools, capschools;
    uint64_t request; /* counts requests, so a school is checked once per request */
    counters_t c;
};

/* ---- rejections, merged from the reader and our own checks ---- */

typedef struct {
    size_t row;
    char column[40];
    char reason[240];
} reject_t;

typedef struct {
    reject_t *v;
    size_t n, cap;
    int oom;
} rejects_t;

static void reject(rejects_t *rj, size_t row, const char *column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reject(rejects_t *rj, size_t row, const char *column, const char *fmt, ...)
{
    if (rj->n == rj->cap) {
        size_t cap = rj->cap ? rj->cap * 2 : 16;
        reject_t *v = realloc(rj->v, cap * sizeof *v);
        if (!v) {
            rj->oom = 1;
            return;
        }
        rj->v = v;
        rj->cap = cap;
    }
    reject_t *r = &rj->v[rj->n++];
    r->row = row;
    snprintf(r->column, sizeof r->column, "%s", column);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

static int cmp_reject(const void *a, const void *b)
{
    const reject_t *x = a, *y = b;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* ---- Redis edge ---- */

/* redis_ok checks the connection with a PING (Redis may have restarted
 * since the last request), reconnecting once when it broke. */
static int redis_ok(ingest_t *self)
{
    if (!self->redis->err) {
        redisReply *r = redisCommand(self->redis, "PING");
        int up = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (up)
            return 1;
        if (!self->redis->err)
            return 0; /* it answered, with an error: reconnecting will not help */
    }
    self->c.redis_errors++;
    if (service_redis_revive(&self->cfg->common, self->redis) != RC_OK)
        return 0;
    return 1;
}

/* take_replies reads n pipelined replies; returns the last (caller frees)
 * or NULL when the connection failed. Earlier replies are dropped. */
static redisReply *take_replies(ingest_t *self, int n)
{
    redisReply *last = NULL;
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(self->redis, &r) != REDIS_OK) {
            freeReplyObject(last);
            self->c.redis_errors++;
            return NULL;
        }
        freeReplyObject(last);
        last = r;
    }
    return last;
}

/* ---- publishing ---- */

/* publish sends msg (seq set) as [topic][envelope]; PUB never blocks, and a
 * message the live path drops is recovered from the log by subscribers. */
static void publish(ingest_t *self, const wire_msg_t *msg)
{
    char topic[CODEC_TOPIC_MAX], why[CODEC_WHY_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    if (codec_topic(msg, topic) != RC_OK || codec_encode(msg, &buf, &len, why) != RC_OK ||
        zmq_send(self->pub, topic, strlen(topic), ZMQ_SNDMORE) < 0 ||
        zmq_send(self->pub, buf, len, 0) < 0) {
        self->c.publish_failed++;
        log_warn("ingest.publish_failed", LOG_STR("urn", msg->urn),
                 LOG_STR("kind", wire_kind_name(msg->kind)));
    } else {
        self->c.published++;
    }
    free(buf);
}

/* encode_unsequenced encodes msg as stored in the log (seq 0). */
static rc_err_t encode_unsequenced(wire_msg_t *msg, uint8_t **buf, size_t *len)
{
    char why[CODEC_WHY_MAX];
    msg->seq = 0;
    rc_err_t err = codec_encode(msg, buf, len, why);
    if (err != RC_OK)
        log_error("ingest.encode_failed", LOG_STR("kind", wire_kind_name(msg->kind)),
                  LOG_STR("why", why));
    return err;
}

/* append_event appends one non-mark event to urn's log and publishes it.
 * Returns RC_OK (with *dup set when once and already held) or RC_EIO. */
static rc_err_t append_event(ingest_t *self, wire_msg_t *msg, int once, int *dup)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    schoollog_result_t res;
    rc_err_t err = encode_unsequenced(msg, &buf, &len);
    if (err != RC_OK)
        return err;
    err = once ? schoollog_queue_event_once(self->redis, msg->urn, msg->event_id, buf, len)
               : schoollog_queue_event(self->redis, msg->urn, buf, len);
    free(buf);
    if (err == RC_OK)
        err = schoollog_collect(self->redis, &res, NULL);
    if (err != RC_OK) {
        self->c.redis_errors++;
        return RC_EIO;
    }
    if (dup)
        *dup = res.status == SCHOOLLOG_DUPLICATE;
    if (res.status != SCHOOLLOG_DUPLICATE) {
        msg->seq = res.seq;
        publish(self, msg);
    }
    return RC_OK;
}

/* announce_ref tells subscribers urn's reference data changed (in its log,
 * so the change is ordered with the marks around it). */
static void announce_ref(ingest_t *self, const char *urn, refdata_kind_t kind,
                         char (*upns)[RC_UPN_LEN + 1], size_t n_upns)
{
    wire_msg_t msg;
    char seqbuf[32];
    codec_msg_init(&msg, WIRE_REFDATA);
    snprintf(msg.urn, sizeof msg.urn, "%s", urn);
    msg.u.ref.kind = kind;
    if (n_upns <= CODEC_MAX_REF_UPNS) {
        msg.u.ref.n_upns = n_upns;
        memcpy(msg.u.ref.upns, upns, n_upns * sizeof *upns);
    }
    /* A change's id: the school and the new refver make it unique. */
    redisReply *r = redisCommand(self->redis, "INCR rc:refver:{%s}", urn);
    snprintf(seqbuf, sizeof seqbuf, "%lld", r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0);
    freeReplyObject(r);
    const char *parts[] = {"ref", urn, refdata_kind_name(kind), seqbuf};
    codec_event_id(parts, 4, msg.event_id);
    if (append_event(self, &msg, 0, NULL) != RC_OK)
        log_warn("ingest.ref_announce_failed", LOG_STR("urn", urn));
}

/* ---- the school cache ---- */

static void school_release(school_t *s)
{
    calendar_destroy(&s->cal);
}

/* school_load reads a school and its calendar from Redis into s. Returns 1
 * when loaded, 0 when the school is not known, -1 when Redis failed. */
static int school_load(ingest_t *self, const char *urn, school_t *s)
{
    redisAppendCommand(self->redis, "GET rc:refver:{%s}", urn);
    redisAppendCommand(self->redis, "HGET rc:school:{%s} la_code", urn);
    redisAppendCommand(self->redis, "SMEMBERS rc:cal:{%s}", urn);
    void *rv = NULL, *rl = NULL, *rcal = NULL;
    int result = -1;
    if (redisGetReply(self->redis, &rv) != REDIS_OK ||
        redisGetReply(self->redis, &rl) != REDIS_OK ||
        redisGetReply(self->redis, &rcal) != REDIS_OK)
        goto out;
    redisReply *ver = rv, *la = rl, *cal = rcal;
    if (la->type != REDIS_REPLY_STRING) {
        result = 0;
        goto out;
    }
    memset(s, 0, sizeof *s);
    snprintf(s->urn, sizeof s->urn, "%s", urn);
    snprintf(s->la_code, sizeof s->la_code, "%s", la->str);
    s->refver = ver->type == REDIS_REPLY_STRING ? atoll(ver->str) : 0;
    s->cal = calendar_new();
    if (!s->cal)
        goto out;
    for (size_t i = 0; cal->type == REDIS_REPLY_ARRAY && i < cal->elements; i++)
        refdata_cal_apply(s->cal, cal->element[i]->str);
    result = 1;
out:
    freeReplyObject(rv);
    freeReplyObject(rl);
    freeReplyObject(rcal);
    if (result < 0)
        self->c.redis_errors++;
    return result;
}

/* school_get returns the cached school, reloaded if its refver moved; NULL
 * when unknown (*redis_failed tells the two apart). */
static school_t *school_get(ingest_t *self, const char *urn, int *redis_failed)
{
    *redis_failed = 0;
    school_t *hit = NULL;
    for (size_t i = 0; i < self->nschools; i++)
        if (strcmp(self->schools[i].urn, urn) == 0)
            hit = &self->schools[i];
    if (hit && hit->checked == self->request)
        return hit;
    if (hit) {
        redisReply *r = redisCommand(self->redis, "GET rc:refver:{%s}", urn);
        long long ver = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
        int failed = !r;
        freeReplyObject(r);
        if (failed) {
            *redis_failed = 1;
            return NULL;
        }
        if (ver == hit->refver) {
            hit->checked = self->request;
            return hit;
        }
    }
    school_t fresh;
    int loaded = school_load(self, urn, &fresh);
    if (loaded <= 0) {
        *redis_failed = loaded < 0;
        return NULL;
    }
    fresh.checked = self->request;
    if (hit) {
        school_release(hit);
        *hit = fresh;
        return hit;
    }
    if (self->nschools == self->capschools) {
        size_t cap = self->capschools ? self->capschools * 2 : 16;
        school_t *v = realloc(self->schools, cap * sizeof *v);
        if (!v) {
            school_release(&fresh);
            return NULL;
        }
        self->schools = v;
        self->capschools = cap;
    }
    self->schools[self->nschools] = fresh;
    return &self->schools[self->nschools++];
}

/* ---- lifecycle ---- */

ingest_t *ingest_new(const ingest_config_t *cfg, redisContext *redis, void *pub)
{
    const char *why = NULL;
    if (schoollog_install(redis, &why) != RC_OK) {
        log_error("ingest.install_failed", LOG_STR("why", why));
        return NULL;
    }
    redisReply *r = redisCommand(redis, "CONFIG GET appendfsync");
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        strcmp(r->element[1]->str, "always") != 0)
        log_warn("ingest.durability", LOG_STR("appendfsync", r->element[1]->str),
                 LOG_STR("advice", "run Redis with appendonly yes and appendfsync always so an "
                                   "accepted mark survives a power cut"));
    freeReplyObject(r);
    ingest_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->redis = redis;
    self->pub = pub;
    return self;
}

void ingest_destroy(ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_t *self = *self_p;
    for (size_t i = 0; i < self->nschools; i++)
        school_release(&self->schools[i]);
    free(self->schools);
    free(self);
    *self_p = NULL;
}

/* ---- responses ---- */

static void respond_json(http_response_t *out, int status, json_t *body)
{
    out->status = status;
    out->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
}

static void respond_error(http_response_t *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void respond_error(http_response_t *out, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    respond_json(out, status, json_pack("{s:s}", "error", msg));
}

typedef struct {
    size_t received, accepted, duplicates, superseded;
    int unavailable; /* Redis failed part way: some rows were not stored */
} tally_t;

/* respond_batch answers a batch: 200 when anything was stored (or already
 * held), 422 when every row was rejected, 503 when Redis failed first. */
static void respond_batch(ingest_t *self, int path, int json_rows, tally_t *t, rejects_t *rj,
                          http_response_t *out)
{
    if (rj->n) /* qsort wants a real array even for none */
        qsort(rj->v, rj->n, sizeof *rj->v, cmp_reject);
    size_t rows = 0;
    json_t *list = json_array();
    for (size_t i = 0; i < rj->n; i++) {
        if (i == 0 || rj->v[i].row != rj->v[i - 1].row)
            rows++;
        json_array_append_new(list, json_pack("{s:I,s:s,s:s}", json_rows ? "index" : "line",
                                              (json_int_t)rj->v[i].row, "column", rj->v[i].column,
                                              "reason", rj->v[i].reason));
    }
    json_t *body =
        json_pack("{s:s,s:I,s:I,s:I,s:I,s:o}", "kind", path_names[path], "received",
                  (json_int_t)t->received, "accepted", (json_int_t)t->accepted, "duplicates",
                  (json_int_t)t->duplicates, "rejected_rows", (json_int_t)rows, "rejected", list);
    if (path == PATH_MARKS)
        json_object_set_new(body, "superseded", json_integer((json_int_t)t->superseded));
    int status = 200;
    if (t->accepted + t->duplicates == 0 && t->unavailable)
        status = 503;
    else if (t->accepted + t->duplicates == 0 && rows > 0)
        status = 422;
    if (t->unavailable)
        json_object_set_new(body, "error",
                            json_string("the database became unavailable part way: rows listed "
                                        "as not stored can be sent again"));
    self->c.accepted[path] += t->accepted;
    self->c.duplicates[path] += t->duplicates;
    self->c.rejected[path] += rows;
    respond_json(out, status, body);
}

/* ---- checks shared by the kinds ---- */

/* require_school rejects row when urn is not a known school. */
static school_t *require_school(ingest_t *self, const char *urn, size_t row, rejects_t *rj,
                                tally_t *t)
{
    int failed;
    school_t *s = school_get(self, urn, &failed);
    if (!s && failed) {
        t->unavailable = 1;
        reject(rj, row, "urn", "not stored: the database is unavailable; send this row again");
    } else if (!s) {
        reject(rj, row, "urn", "school %s is not known to Rollcall: send it in schools.csv first",
               urn);
    }
    return s;
}

/* A pupil's roll dates, as marks are checked against them. */
typedef struct {
    char urn[RC_URN_LEN + 1];
    char upn[RC_UPN_LEN + 1];
    int known;
    rc_date_t from, to;
} roll_t;

static int cmp_roll(const void *a, const void *b)
{
    const roll_t *x = a, *y = b;
    int c = strcmp(x->urn, y->urn);
    return c ? c : strcmp(x->upn, y->upn);
}

/* load_rolls reads the roll dates of each distinct (urn, upn) in marks;
 * returns the sorted table (caller frees) with *n entries, or NULL. */
static roll_t *load_rolls(ingest_t *self, const records_t *r, size_t *n, int *failed)
{
    roll_t *v = calloc(r->n ? r->n : 1, sizeof *v);
    *n = 0;
    *failed = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < r->n; i++) {
        snprintf(v[*n].urn, sizeof v[*n].urn, "%s", r->v[i].u.mark.urn);
        snprintf(v[*n].upn, sizeof v[*n].upn, "%s", r->v[i].u.mark.upn);
        (*n)++;
    }
    qsort(v, *n, sizeof *v, cmp_roll);
    size_t u = 0;
    for (size_t i = 0; i < *n; i++)
        if (u == 0 || cmp_roll(&v[u - 1], &v[i]) != 0)
            v[u++] = v[i];
    *n = u;
    for (size_t i = 0; i < u; i++)
        redisAppendCommand(self->redis, "HMGET rc:pupil:{%s}:%s on_roll_from on_roll_to", v[i].urn,
                           v[i].upn);
    for (size_t i = 0; i < u; i++) {
        void *rep = NULL;
        if (redisGetReply(self->redis, &rep) != REDIS_OK) {
            *failed = 1;
            self->c.redis_errors++;
            break;
        }
        redisReply *a = rep;
        if (a->type == REDIS_REPLY_ARRAY && a->elements == 2 &&
            a->element[0]->type == REDIS_REPLY_STRING &&
            date_parse(a->element[0]->str, a->element[0]->len, &v[i].from) == RC_OK) {
            v[i].known = 1;
            v[i].to = RC_DATE_NONE;
            if (a->element[1]->type == REDIS_REPLY_STRING && a->element[1]->len)
                date_parse(a->element[1]->str, a->element[1]->len, &v[i].to);
        }
        freeReplyObject(rep);
    }
    return v;
}

/* ---- marks ---- */

static void do_marks(ingest_t *self, const records_t *r, rejects_t *rj, tally_t *t)
{
    size_t nrolls;
    int failed;
    roll_t *rolls = load_rolls(self, r, &nrolls, &failed);
    char *ok = calloc(r->n ? r->n : 1, 1);
    if (!rolls || !ok || failed) {
        t->unavailable = failed;
        for (size_t i = 0; i < r->n; i++)
            reject(rj, r->v[i].row, "", "not stored: %s; send this row again",
                   failed ? "the database is unavailable" : "the server is out of memory");
        goto out;
    }
    /* Check every row first: the checks talk to Redis one command at a
     * time, which must not interleave with the pipelined appends. */
    for (size_t i = 0; i < r->n; i++) {
        const mark_t *m = &r->v[i].u.mark;
        size_t row = r->v[i].row;
        school_t *s = require_school(self, m->urn, row, rj, t);
        if (!s)
            continue;
        char date[RC_DATE_STRLEN];
        date_format(m->date, date);
        if (!calendar_is_open(s->cal, m->date, m->session)) {
            if (calendar_first_day(s->cal) == RC_DATE_NONE)
                reject(rj, row, "date",
                       "school %s has no calendar yet: send its terms in calendar.csv first",
                       m->urn);
            else if (date_is_weekend(m->date))
                reject(rj, row, "date", "%s is a weekend: the school is never open then", date);
            else
                reject(rj, row, "session",
                       "the school's calendar has %s %s closed (a holiday, closure or outside "
                       "term): correct the date or the calendar",
                       date, session_str(m->session));
            continue;
        }
        roll_t key = {0};
        snprintf(key.urn, sizeof key.urn, "%s", m->urn);
        snprintf(key.upn, sizeof key.upn, "%s", m->upn);
        roll_t *p = bsearch(&key, rolls, nrolls, sizeof *rolls, cmp_roll);
        if (!p || !p->known) {
            reject(rj, row, "upn",
                   "this pupil is not on the school's roll: send them in pupils.csv first");
            continue;
        }
        if (m->date < p->from || (p->to != RC_DATE_NONE && m->date > p->to)) {
            reject(rj, row, "date", "the pupil was not on the school's roll on %s", date);
            continue;
        }
        ok[i] = 1;
    }
    /* Then pipeline the appends of the rows that passed. */
    for (size_t i = 0; i < r->n; i++) {
        if (!ok[i])
            continue;
        const mark_t *m = &r->v[i].u.mark;
        size_t row = r->v[i].row;
        wire_msg_t msg;
        uint8_t *buf = NULL;
        size_t len = 0;
        codec_msg_init(&msg, WIRE_MARK);
        snprintf(msg.urn, sizeof msg.urn, "%s", m->urn);
        msg.u.mark = *m;
        codec_event_id_mark(m, msg.event_id);
        if (encode_unsequenced(&msg, &buf, &len) != RC_OK) {
            ok[i] = 0;
            reject(rj, row, "", "this mark could not be encoded; report it to support");
            continue;
        }
        rc_err_t err = schoollog_queue_mark(self->redis, m, buf, len);
        free(buf);
        if (err != RC_OK) {
            ok[i] = 0;
            reject(rj, row, "", "not stored: the server is out of memory; send this row again");
        }
    }
    /* Collect in order: each reply says whether that mark is durable. */
    int broken = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!ok[i])
            continue;
        schoollog_result_t res;
        if (broken || schoollog_collect(self->redis, &res, NULL) != RC_OK) {
            if (!broken)
                self->c.redis_errors++;
            broken = 1;
            t->unavailable = 1;
            reject(rj, r->v[i].row, "",
                   "not stored: the database is unavailable; send this row again");
            continue;
        }
        if (res.status == SCHOOLLOG_DUPLICATE) {
            t->duplicates++;
            continue;
        }
        t->accepted++;
        if (res.status == SCHOOLLOG_SUPERSEDED) {
            t->superseded++;
            self->c.superseded++;
        }
        wire_msg_t msg;
        codec_msg_init(&msg, WIRE_MARK);
        snprintf(msg.urn, sizeof msg.urn, "%s", r->v[i].u.mark.urn);
        msg.u.mark = r->v[i].u.mark;
        codec_event_id_mark(&msg.u.mark, msg.event_id);
        msg.seq = res.seq;
        publish(self, &msg);
    }
out:
    free(rolls);
    free(ok);
}

/* ---- reference data ---- */

/* Schools touched by a batch, with the UPNs that changed in each. */
typedef struct {
    char urn[RC_URN_LEN + 1];
    size_t n_upns;
    char (*upns)[RC_UPN_LEN + 1]; /* up to CODEC_MAX_REF_UPNS + 1 (then "all") */
} touched_t;

typedef struct {
    touched_t *v;
    size_t n;
} touched_set_t;

static void touch(touched_set_t *ts, const char *urn, const char *upn)
{
    touched_t *t = NULL;
    for (size_t i = 0; i < ts->n && !t; i++)
        if (strcmp(ts->v[i].urn, urn) == 0)
            t = &ts->v[i];
    if (!t) {
        touched_t *v = realloc(ts->v, (ts->n + 1) * sizeof *v);
        if (!v)
            return;
        ts->v = v;
        t = &ts->v[ts->n++];
        memset(t, 0, sizeof *t);
        snprintf(t->urn, sizeof t->urn, "%s", urn);
        t->upns = calloc(CODEC_MAX_REF_UPNS + 1, sizeof *t->upns);
    }
    if (upn && t->upns && t->n_upns <= CODEC_MAX_REF_UPNS)
        snprintf(t->upns[t->n_upns++], sizeof *t->upns, "%s", upn);
}

static void announce_all(ingest_t *self, touched_set_t *ts, refdata_kind_t kind)
{
    for (size_t i = 0; i < ts->n; i++) {
        touched_t *t = &ts->v[i];
        /* More UPNs than a message carries: say "all of the school's". */
        size_t n = t->n_upns > CODEC_MAX_REF_UPNS ? 0 : t->n_upns;
        announce_ref(self, t->urn, kind, t->upns, n);
        free(t->upns);
    }
    free(ts->v);
    ts->v = NULL;
    ts->n = 0;
}

/* store_row runs the queued MULTI..EXEC of one row (ncmds commands inside)
 * and records the outcome. Returns 0 once Redis has failed. */
static int store_row(ingest_t *self, int ncmds, size_t row, rejects_t *rj, tally_t *t)
{
    redisReply *exec = take_replies(self, ncmds + 2);
    int ok = exec && exec->type == REDIS_REPLY_ARRAY;
    freeReplyObject(exec);
    if (ok) {
        t->accepted++;
        return 1;
    }
    t->unavailable = 1;
    reject(rj, row, "", "not stored: the database is unavailable; send this row again");
    return 0;
}

static void do_schools(ingest_t *self, const records_t *r, rejects_t *rj, tally_t *t,
                       touched_set_t *ts)
{
    for (size_t i = 0; i < r->n; i++) {
        const school_rec_t *s = &r->v[i].u.school;
        /* Read the old LA and trust so a move leaves no stale membership. */
        redisReply *old =
            redisCommand(self->redis, "HMGET rc:school:{%s} la_code trust_id", s->urn);
        if (!old || old->type != REDIS_REPLY_ARRAY || old->elements != 2) {
            freeReplyObject(old);
            t->unavailable = 1;
            reject(rj, r->v[i].row, "", "not stored: the database is unavailable; send it again");
            continue;
        }
        int n = 0;
        redisAppendCommand(self->redis, "MULTI");
        redisAppendCommand(
            self->redis, "HSET rc:school:{%s} name %s la_code %s trust_id %s policy %s phone %s",
            s->urn, s->name, s->la_code, s->trust_id, s->policy, s->phone ? s->phone : "");
        redisAppendCommand(self->redis, "SADD rc:schools %s", s->urn);
        redisAppendCommand(self->redis, "SADD rc:la:%s %s", s->la_code, s->urn);
        n += 3;
        if (s->trust_id[0]) {
            redisAppendCommand(self->redis, "SADD rc:trust:%s %s", s->trust_id, s->urn);
            n++;
        }
        if (old->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(old->element[0]->str, s->la_code) != 0) {
            redisAppendCommand(self->redis, "SREM rc:la:%s %s", old->element[0]->str, s->urn);
            n++;
        }
        if (old->element[1]->type == REDIS_REPLY_STRING && old->element[1]->len &&
            strcmp(old->element[1]->str, s->trust_id) != 0) {
            redisAppendCommand(self->redis, "SREM rc:trust:%s %s", old->element[1]->str, s->urn);
            n++;
        }
        redisAppendCommand(self->redis, "EXEC");
        freeReplyObject(old);
        if (store_row(self, n, r->v[i].row, rj, t))
            touch(ts, s->urn, NULL);
    }
}

static void do_calendar(ingest_t *self, const records_t *r, rejects_t *rj, tally_t *t,
                        touched_set_t *ts)
{
    for (size_t i = 0; i < r->n; i++) {
        const calendar_rec_t *c = &r->v[i].u.calendar;
        size_t row = r->v[i].row;
        school_t *s = require_school(self, c->urn, row, rj, t);
        if (!s)
            continue;
        /* Try the row on the school's calendar before storing it. */
        rc_err_t err = c->kind == CAL_TERM
                           ? calendar_add_term(s->cal, c->from, c->to)
                           : calendar_add_closure(s->cal, c->from, c->to, c->sessions);
        if (err != RC_OK) {
            reject(rj, row, "to",
                   "with this row the school's calendar would span more than %d years; "
                   "check the dates",
                   CALENDAR_MAX_DAYS / 366);
            continue;
        }
        char stored[REFDATA_CAL_ROW_MAX];
        redisAppendCommand(self->redis, "MULTI");
        redisAppendCommand(self->redis, "SADD rc:cal:{%s} %s", c->urn, refdata_cal_row(c, stored));
        redisAppendCommand(self->redis, "EXEC");
        if (store_row(self, 1, row, rj, t))
            touch(ts, c->urn, NULL);
    }
}

static void do_pupils(ingest_t *self, const records_t *r, rejects_t *rj, tally_t *t,
                      touched_set_t *ts)
{
    for (size_t i = 0; i < r->n; i++) {
        const pupil_rec_t *p = &r->v[i].u.pupil;
        size_t row = r->v[i].row;
        if (!require_school(self, p->urn, row, rj, t))
            continue;
        char dob[RC_DATE_STRLEN], from[RC_DATE_STRLEN], to[RC_DATE_STRLEN] = "";
        char year[8], flags[8];
        if (p->on_roll_to != RC_DATE_NONE)
            date_format(p->on_roll_to, to);
        snprintf(year, sizeof year, "%d", p->year_group);
        snprintf(flags, sizeof flags, "%u", p->flags);
        redisAppendCommand(self->redis, "MULTI");
        redisAppendCommand(self->redis,
                           "HSET rc:pupil:{%s}:%s forename %s surname %s year_group %s "
                           "date_of_birth %s on_roll_from %s on_roll_to %s flags %s",
                           p->urn, p->upn, p->forename, p->surname, year,
                           date_format(p->date_of_birth, dob), date_format(p->on_roll_from, from),
                           to, flags);
        redisAppendCommand(self->redis, "SADD rc:pupils:{%s} %s", p->urn, p->upn);
        redisAppendCommand(self->redis, "SADD rc:upn:%s %s", p->upn, p->urn);
        redisAppendCommand(self->redis, "EXEC");
        if (store_row(self, 3, row, rj, t))
            touch(ts, p->urn, p->upn);
    }
}

static void do_contacts(ingest_t *self, const records_t *r, rejects_t *rj, tally_t *t,
                        touched_set_t *ts)
{
    for (size_t i = 0; i < r->n; i++) {
        const contact_rec_t *c = &r->v[i].u.contact;
        size_t row = r->v[i].row;
        redisReply *schools = redisCommand(self->redis, "SMEMBERS rc:upn:%s", c->upn);
        if (!schools || schools->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(schools);
            t->unavailable = 1;
            reject(rj, row, "", "not stored: the database is unavailable; send it again");
            continue;
        }
        if (schools->elements == 0) {
            freeReplyObject(schools);
            reject(rj, row, "upn",
                   "no school has this pupil on roll: send them in pupils.csv "
                   "first");
            continue;
        }
        json_t *j = json_pack("{s:s,s:s,s:b,s:s,s:s,s:i}", "name", c->name, "relationship",
                              c->relationship ? c->relationship : "", "parental_responsibility",
                              c->parental_responsibility, "mobile", c->mobile, "email",
                              c->email ? c->email : "", "priority", c->priority);
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        redisAppendCommand(self->redis, "MULTI");
        redisAppendCommand(self->redis, "HSET rc:contacts:%s %s %s", c->upn, c->contact_id,
                           text ? text : "{}");
        redisAppendCommand(self->redis, "EXEC");
        free(text);
        if (store_row(self, 1, row, rj, t))
            for (size_t k = 0; k < schools->elements; k++)
                touch(ts, schools->element[k]->str, c->upn);
        freeReplyObject(schools);
    }
}

/* ---- the five files ---- */

/* find_ci finds needle in hay ignoring ASCII case; NULL when absent. */
static const char *find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* media_type reads a Content-Type: CSV or JSON, in UTF-8 (or unstated). */
static int media_type(const char *ct, rec_format_t *fmt)
{
    if (!ct)
        return 0;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ')
        n--;
    if (n == 8 && strncasecmp(ct, "text/csv", 8) == 0)
        *fmt = REC_FMT_CSV;
    else if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        *fmt = REC_FMT_JSON;
    else
        return 0;
    const char *cs = find_ci(ct + n, "charset=");
    if (cs) {
        cs += 8;
        if (*cs == '"')
            cs++;
        if (strncasecmp(cs, "utf-8", 5) != 0 && strncasecmp(cs, "utf8", 4) != 0 &&
            strncasecmp(cs, "us-ascii", 8) != 0)
            return 0;
    }
    return 1;
}

static void handle_records(ingest_t *self, int path, rec_kind_t kind, const char *content_type,
                           const char *body, size_t len, http_response_t *out)
{
    rec_format_t fmt;
    if (!media_type(content_type, &fmt)) {
        respond_error(out, 415, "send %s as text/csv or application/json (UTF-8), not '%s'",
                      rec_kind_name(kind), content_type ? content_type : "(none)");
        return;
    }
    records_t *r = NULL;
    rc_err_t err = records_parse(kind, fmt, body, len, &r);
    if (err == RC_ENOMEM || !r) {
        respond_error(out, 503, "the server is out of memory; send a smaller file");
        return;
    }
    rejects_t rj = {0};
    for (size_t i = 0; i < r->nerrors; i++)
        reject(&rj, r->errors[i].row, r->errors[i].column, "%s", r->errors[i].message);
    if (r->fatal) {
        /* A broken document stores nothing: fix it and send it again. */
        char first[400];
        rec_error_format(r, &r->errors[r->nerrors - 1], first, sizeof first);
        json_t *list = json_array();
        for (size_t i = 0; i < rj.n; i++)
            json_array_append_new(list,
                                  json_pack("{s:I,s:s,s:s}", fmt == REC_FMT_JSON ? "index" : "line",
                                            (json_int_t)rj.v[i].row, "column", rj.v[i].column,
                                            "reason", rj.v[i].reason));
        respond_json(out, 400,
                     json_pack("{s:s,s:s,s:o}", "kind", rec_kind_name(kind), "error", first,
                               "rejected", list));
        goto out;
    }
    if (!redis_ok(self)) {
        respond_error(out, 503, "the database is unavailable; nothing was stored: send it again");
        goto out;
    }
    tally_t t = {.received = r->n};
    for (size_t i = 0; i < rj.n; i++)
        if (i == 0 || rj.v[i].row != rj.v[i - 1].row)
            t.received++;
    touched_set_t ts = {0};
    switch (kind) {
    case REC_SCHOOLS:
        do_schools(self, r, &rj, &t, &ts);
        announce_all(self, &ts, REFDATA_SCHOOL);
        break;
    case REC_CALENDAR:
        do_calendar(self, r, &rj, &t, &ts);
        announce_all(self, &ts, REFDATA_CALENDAR);
        break;
    case REC_PUPILS:
        do_pupils(self, r, &rj, &t, &ts);
        announce_all(self, &ts, REFDATA_PUPIL);
        break;
    case REC_CONTACTS:
        do_contacts(self, r, &rj, &t, &ts);
        announce_all(self, &ts, REFDATA_CONTACT);
        break;
    case REC_MARKS:
        do_marks(self, r, &rj, &t);
        break;
    case REC__KIND_COUNT:
        break;
    }
    respond_batch(self, path, fmt == REC_FMT_JSON, &t, &rj, out);
    log_info("ingest.batch", LOG_STR("kind", rec_kind_name(kind)),
             LOG_INT("received", (int64_t)t.received), LOG_INT("accepted", (int64_t)t.accepted),
             LOG_INT("duplicates", (int64_t)t.duplicates), LOG_INT("status", out->status));
out:
    free(rj.v);
    records_destroy(&r);
}

/* ---- case facts ---- */

static const char *const case_keys[] = {"urn",         "upn",         "kind",   "date",
                                        "recorded_by", "recorded_at", "detail", NULL};

static const char *fact_name(int k)
{
    return fact_kind_name((fact_kind_t)k);
}

static const char *role_name(int k)
{
    return staff_role_name((staff_role_t)k);
}

/* names lists name(1) .. name(count - 1), comma-separated, into buf. */
static char *names(const char *(*name)(int), int count, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 1; k < count && used < len; k++) {
        int w = snprintf(buf + used, len - used, "%s%s", k > 1 ? ", " : "", name(k));
        if (w > 0)
            used += (size_t)w;
    }
    return buf;
}

/* case_from_json reads one case fact; returns 0 after rejecting its row. */
static int case_from_json(json_t *item, size_t row, wire_msg_t *msg, rejects_t *rj)
{
    if (!json_is_object(item)) {
        reject(rj, row, "",
               "must be an object with urn, upn, kind, date, recorded_by and "
               "recorded_at");
        return 0;
    }
    const char *key;
    json_t *v;
    int ok = 1;
    json_object_foreach(item, key, v)
    {
        int known = 0;
        for (size_t k = 0; case_keys[k]; k++)
            known |= strcmp(key, case_keys[k]) == 0;
        if (!known) {
            reject(rj, row, key,
                   "is not a case field (expected urn, upn, kind, date, "
                   "recorded_by, recorded_at, detail)");
            ok = 0;
        }
    }
    const char *urn = json_string_value(json_object_get(item, "urn"));
    const char *upn = json_string_value(json_object_get(item, "upn"));
    const char *kind = json_string_value(json_object_get(item, "kind"));
    const char *date = json_string_value(json_object_get(item, "date"));
    const char *by = json_string_value(json_object_get(item, "recorded_by"));
    const char *at = json_string_value(json_object_get(item, "recorded_at"));
    json_t *detail = json_object_get(item, "detail");
    const char *why = NULL;
    case_fact_t *f = &msg->u.fact;
    codec_msg_init(msg, WIRE_CASE_FACT);
    if (!urn || urn_check(urn, strlen(urn), &why) != RC_OK) {
        reject(rj, row, "urn", "%s", urn ? why : "is missing or not a string (6-digit URN)");
        ok = 0;
    } else {
        snprintf(msg->urn, sizeof msg->urn, "%s", urn);
    }
    if (!upn || upn_check(upn, strlen(upn), &why) != RC_OK) {
        reject(rj, row, "upn", "%s", upn ? why : "is missing or not a string (13-character UPN)");
        ok = 0;
    } else {
        snprintf(f->upn, sizeof f->upn, "%s", upn);
    }
    if (!kind || fact_kind_parse(kind, strlen(kind), &f->kind) != RC_OK) {
        char all[400];
        reject(rj, row, "kind", "must be one of: %s",
               names(fact_name, FACT__COUNT, all, sizeof all));
        ok = 0;
    }
    if (!date || date_parse(date, strlen(date), &f->date) != RC_OK) {
        reject(rj, row, "date", "must be a real date written YYYY-MM-DD");
        ok = 0;
    }
    if (!by || staff_role_parse(by, strlen(by), &f->recorded_by) != RC_OK) {
        char all[400];
        reject(rj, row, "recorded_by", "must be a role, one of: %s",
               names(role_name, STAFF__COUNT, all, sizeof all));
        ok = 0;
    }
    if (!at || time_parse_iso(at, strlen(at), &f->recorded_at, NULL) != RC_OK) {
        reject(rj, row, "recorded_at",
               "must be a time in ISO 8601 form with its offset, e.g. 2026-09-07T10:15:00+01:00");
        ok = 0;
    }
    if (detail && !json_is_null(detail)) {
        const char *d = json_string_value(detail);
        if (!d || strlen(d) > CODEC_NAME_MAX ||
            strspn(d, "abcdefghijklmnopqrstuvwxyz0123456789_"
                      "-") != strlen(d)) {
            reject(rj, row, "detail",
                   "must be a short code of lower-case letters, digits, '_' or '-' (at most %d), "
                   "never free text",
                   CODEC_NAME_MAX);
            ok = 0;
        } else {
            snprintf(f->detail, sizeof f->detail, "%s", d);
        }
    }
    if (ok) {
        char dbuf[RC_DATE_STRLEN], tbuf[RC_TIME_STRLEN];
        const char *parts[] = {"fact",
                               msg->urn,
                               f->upn,
                               fact_kind_name(f->kind),
                               date_format(f->date, dbuf),
                               staff_role_name(f->recorded_by),
                               time_format_iso(f->recorded_at, 0, tbuf),
                               f->detail};
        codec_event_id(parts, 8, msg->event_id);
    }
    return ok;
}

static void handle_cases(ingest_t *self, const char *content_type, const char *body, size_t len,
                         http_response_t *out)
{
    rec_format_t fmt;
    if (!media_type(content_type, &fmt) || fmt != REC_FMT_JSON) {
        respond_error(out, 415, "send case facts as application/json: an array of objects");
        return;
    }
    json_error_t jerr;
    json_t *arr = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!arr || !json_is_array(arr)) {
        if (arr)
            respond_error(out, 400, "the body must be a JSON array of case facts");
        else
            respond_error(out, 400, "the body is not JSON: %s at line %d, column %d", jerr.text,
                          jerr.line, jerr.column);
        json_decref(arr);
        return;
    }
    if (!redis_ok(self)) {
        json_decref(arr);
        respond_error(out, 503, "the database is unavailable; nothing was stored: send it again");
        return;
    }
    rejects_t rj = {0};
    tally_t t = {.received = json_array_size(arr)};
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        wire_msg_t msg;
        if (!case_from_json(item, i, &msg, &rj))
            continue;
        if (!require_school(self, msg.urn, i, &rj, &t))
            continue;
        redisReply *on =
            redisCommand(self->redis, "EXISTS rc:pupil:{%s}:%s", msg.urn, msg.u.fact.upn);
        int known = on && on->type == REDIS_REPLY_INTEGER && on->integer == 1;
        freeReplyObject(on);
        if (!known) {
            reject(&rj, i, "upn", "this pupil is not on the school's roll");
            continue;
        }
        int dup = 0;
        if (append_event(self, &msg, 1, &dup) != RC_OK) {
            t.unavailable = 1;
            reject(&rj, i, "", "not stored: the database is unavailable; send it again");
            continue;
        }
        if (dup)
            t.duplicates++;
        else
            t.accepted++;
    }
    json_decref(arr);
    respond_batch(self, PATH_CASES, 1, &t, &rj, out);
    free(rj.v);
}

/* ---- the replay clock ---- */

static void handle_clock(ingest_t *self, const char *content_type, const char *body, size_t len,
                         http_response_t *out)
{
    rec_format_t fmt;
    if (self->cfg->clock != INGEST_CLOCK_REPLAY) {
        respond_error(out, 409,
                      "this ingest runs on the wall clock; POST /v1/clock is only for "
                      "replay mode (clock = replay)");
        return;
    }
    if (!media_type(content_type, &fmt) || fmt != REC_FMT_JSON) {
        respond_error(out, 415, "send the clock as application/json: {\"now\": \"...\"}");
        return;
    }
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    const char *now_s = json_string_value(json_object_get(j, "now"));
    rc_time_t now;
    int32_t offset;
    if (!now_s || time_parse_iso(now_s, strlen(now_s), &now, &offset) != RC_OK) {
        json_decref(j);
        respond_error(out, 400,
                      "the body must be {\"now\": \"<ISO 8601 time with offset>\"}, "
                      "e.g. {\"now\": \"2026-09-07T09:30:00+01:00\"}");
        return;
    }
    json_decref(j);
    if (!redis_ok(self)) {
        respond_error(out, 503, "the database is unavailable; the clock did not move");
        return;
    }
    redisReply *cur = redisCommand(self->redis, "GET rc:clock");
    if (!cur) {
        respond_error(out, 503, "the database is unavailable; the clock did not move");
        return;
    }
    long long held = cur->type == REDIS_REPLY_STRING ? atoll(cur->str) : LLONG_MIN;
    freeReplyObject(cur);
    char nowbuf[RC_TIME_STRLEN];
    time_format_iso(now, offset, nowbuf);
    if (held != LLONG_MIN && now < held) {
        char heldbuf[RC_TIME_STRLEN];
        respond_error(out, 409, "the clock cannot go back: it is already %s",
                      time_format_iso(held, 0, heldbuf));
        return;
    }
    if (now == held) {
        respond_json(out, 200, json_pack("{s:s,s:b}", "now", nowbuf, "moved", 0));
        return;
    }
    /* The tick goes into every school's log, in order with its marks; the
     * clock is stored last, so a retry after a failure re-sends it to all. */
    redisReply *schools = redisCommand(self->redis, "SMEMBERS rc:schools");
    size_t n = 0;
    int failed = !schools || schools->type != REDIS_REPLY_ARRAY;
    for (size_t i = 0; !failed && i < schools->elements; i++) {
        wire_msg_t msg;
        char usbuf[24];
        codec_msg_init(&msg, WIRE_TICK);
        snprintf(msg.urn, sizeof msg.urn, "%s", schools->element[i]->str);
        msg.u.tick.now = now;
        msg.u.tick.utc_offset_s = offset;
        snprintf(usbuf, sizeof usbuf, "%" PRId64, now);
        const char *parts[] = {"tick", msg.urn, usbuf};
        codec_event_id(parts, 3, msg.event_id);
        if (append_event(self, &msg, 0, NULL) != RC_OK)
            failed = 1;
        else
            n++;
    }
    freeReplyObject(schools);
    if (!failed) {
        redisReply *set = redisCommand(self->redis, "SET rc:clock %lld", (long long)now);
        failed = !set || set->type == REDIS_REPLY_ERROR;
        freeReplyObject(set);
    }
    if (failed) {
        respond_error(out, 503, "the database failed part way; send the same clock again");
        return;
    }
    log_info("ingest.clock", LOG_STR("now", nowbuf), LOG_INT("schools", (int64_t)n));
    respond_json(out, 200,
                 json_pack("{s:s,s:b,s:I}", "now", nowbuf, "moved", 1, "schools", (json_int_t)n));
}

/* ---- health and metrics ---- */

static void handle_health(ingest_t *self, http_response_t *out)
{
    redisReply *r = redis_ok(self) ? redisCommand(self->redis, "PING") : NULL;
    int up = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (up)
        respond_json(out, 200, json_pack("{s:s}", "status", "ok"));
    else
        respond_json(out, 503, json_pack("{s:s,s:s}", "status", "unavailable", "redis", "down"));
}

static void handle_metrics(ingest_t *self, http_response_t *out)
{
    size_t cap = 8192, len = 0;
    char *b = malloc(cap);
    if (!b) {
        out->status = 503;
        out->body = NULL;
        return;
    }
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int w_ = snprintf(b + len, cap - len, __VA_ARGS__);                                        \
        if (w_ > 0 && (size_t)w_ < cap - len)                                                      \
            len += (size_t)w_;                                                                     \
    } while (0)
    EMIT("# HELP rollcall_ingest_requests_total HTTP requests answered, by path and status "
         "class.\n# TYPE rollcall_ingest_requests_total counter\n");
    for (int p = 0; p < PATH__COUNT; p++)
        for (int s = 1; s <= 5; s++)
            if (self->c.requests[p][s])
                EMIT("rollcall_ingest_requests_total{path=\"%s\",status=\"%dxx\"} %" PRIu64 "\n",
                     path_names[p], s, self->c.requests[p][s]);
    static const char *const what[] = {"accepted", "duplicates", "rejected"};
    for (int k = 0; k < 3; k++) {
        EMIT("# HELP rollcall_ingest_rows_%s_total Rows %s, by kind.\n"
             "# TYPE rollcall_ingest_rows_%s_total counter\n",
             what[k], what[k], what[k]);
        const uint64_t *v = k == 0   ? self->c.accepted
                            : k == 1 ? self->c.duplicates
                                     : self->c.rejected;
        for (int p = 0; p < PATH_CLOCK; p++)
            EMIT("rollcall_ingest_rows_%s_total{kind=\"%s\"} %" PRIu64 "\n", what[k], path_names[p],
                 v[p]);
    }
    EMIT("# HELP rollcall_ingest_marks_superseded_total Marks older than the one held.\n"
         "# TYPE rollcall_ingest_marks_superseded_total counter\n"
         "rollcall_ingest_marks_superseded_total %" PRIu64 "\n",
         self->c.superseded);
    EMIT("# HELP rollcall_ingest_published_total Messages published on ZeroMQ.\n"
         "# TYPE rollcall_ingest_published_total counter\n"
         "rollcall_ingest_published_total %" PRIu64 "\n",
         self->c.published);
    EMIT("# HELP rollcall_ingest_publish_failed_total Messages not published (subscribers "
         "recover them from the log).\n# TYPE rollcall_ingest_publish_failed_total counter\n"
         "rollcall_ingest_publish_failed_total %" PRIu64 "\n",
         self->c.publish_failed);
    EMIT("# HELP rollcall_ingest_redis_errors_total Redis failures seen.\n"
         "# TYPE rollcall_ingest_redis_errors_total counter\n"
         "rollcall_ingest_redis_errors_total %" PRIu64 "\n",
         self->c.redis_errors);
    EMIT("# HELP rollcall_ingest_schools_cached Schools held in the validation cache.\n"
         "# TYPE rollcall_ingest_schools_cached gauge\n"
         "rollcall_ingest_schools_cached %zu\n",
         self->nschools);
#undef EMIT
    out->status = 200;
    out->body = b;
    out->content_type = "text/plain; version=0.0.4";
}

/* ---- routing ---- */

static const struct {
    const char *path;
    int id;
    rec_kind_t kind;
} routes[] = {
    {"/v1/schools", PATH_SCHOOLS, REC_SCHOOLS}, {"/v1/calendar", PATH_CALENDAR, REC_CALENDAR},
    {"/v1/pupils", PATH_PUPILS, REC_PUPILS},    {"/v1/contacts", PATH_CONTACTS, REC_CONTACTS},
    {"/v1/marks", PATH_MARKS, REC_MARKS},       {"/v1/cases", PATH_CASES, REC__KIND_COUNT},
    {"/v1/clock", PATH_CLOCK, REC__KIND_COUNT},
};

static void count(ingest_t *self, int path, int status)
{
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        self->c.requests[path][cls]++;
}

void ingest_count_http(void *ctx, int status)
{
    count(ctx, PATH_OTHER, status);
}

void ingest_handle(void *ctx, const http_request_t *req, http_response_t *out)
{
    ingest_t *self = ctx;
    const char *method = req->method, *path = req->url, *content_type = req->content_type;
    const char *body = req->body;
    size_t len = req->len;
    memset(out, 0, sizeof *out);
    self->request++;
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0) {
        if (!get) {
            out->allow = "GET, HEAD";
            respond_error(out, 405, "%s takes GET", path);
        } else if (path[1] == 'h') {
            handle_health(self, out);
        } else {
            handle_metrics(self, out);
        }
        count(self, PATH_OTHER, out->status);
        return;
    }
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        if (strcmp(path, routes[i].path) != 0)
            continue;
        if (strcmp(method, "POST") != 0) {
            out->allow = "POST";
            respond_error(out, 405, "%s takes POST", path);
        } else if (routes[i].id == PATH_CASES) {
            handle_cases(self, content_type, body, len, out);
        } else if (routes[i].id == PATH_CLOCK) {
            handle_clock(self, content_type, body, len, out);
        } else {
            handle_records(self, routes[i].id, routes[i].kind, content_type, body, len, out);
        }
        count(self, routes[i].id, out->status);
        return;
    }
    respond_error(out, 404,
                  "no such path: the API has POST /v1/schools, /v1/calendar, /v1/pupils, "
                  "/v1/contacts, /v1/marks, /v1/cases, /v1/clock and GET /healthz, /metrics");
    count(self, PATH_OTHER, out->status);
}
