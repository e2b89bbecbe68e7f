/* rules.c - apply each school's log to its pupils' state and run its
 * policy, one MULTI/EXEC per entry holding the new state, the events raised
 * and the new position, so a crash leaves all of an entry or none. */
#include "rules/rules.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/refdata.h"
#include "rollcall/log.h"
#include "rollcall/metrics.h"
#include "rollcall/policy.h"
#include "rollcall/policy_eval.h"
#include "rollcall/policy_state.h"
#include "rules/rules_agg.h"

typedef struct {
    char upn[RC_UPN_LEN + 1];
    pupil_state_t st;
    pupil_policy_state_t ps;
    unsigned flags;    /* PUPIL_* from the pupil's reference row */
    int year;          /* year group from the same row, or AGG_NO_YEAR */
    agg_contrib_t agg; /* what the stored state adds to the school's totals */
    eval_fact_t *facts;
    size_t nfacts;
} pupil_t;

typedef struct {
    char urn[RC_URN_LEN + 1];
    char la[RC_LA_LEN + 1];
    uint64_t pos;     /* the last log entry committed */
    uint64_t applied; /* the last applied in memory: pos, or ahead in the open MULTI */
    uint64_t out;     /* the last outbox entry written */
    rc_date_t today;  /* RC_DATE_NONE until the first mark or tick */
    int minute;       /* of the day, local; 0 until the first tick */
    calendar_t *cal;
    const policy_t *policy;                                     /* borrowed from rules_t's cache */
    char band_order[AGG_ORDER_MAX], stage_order[AGG_ORDER_MAX]; /* the policy's, for reports */
    int all_loaded;  /* every pupil with state is in pupils[] */
    pupil_t *pupils; /* sorted by upn */
    size_t n, cap;
} school_t;

/* A policy file, loaded once and shared by the schools that name it. */
typedef struct {
    char name[POLICY_NAME_MAX + 1];
    policy_t *policy;
} policy_slot_t;

/* An event written inside the open MULTI, published once it is committed. */
typedef struct {
    char topic[CODEC_TOPIC_MAX];
    char referral_topic[CODEC_TOPIC_MAX]; /* "" unless a referral */
    uint8_t *buf;
    size_t len;
} pending_t;

/* A school held for want of a usable policy, and why (logged on change). */
typedef struct {
    char urn[RC_URN_LEN + 1];
    char why[POLICY_ERR_MAX];
} held_t;

struct rules {
    const rules_config_t *cfg;
    redisContext *rd; /* reads, shared with the feed */
    redisContext *wr; /* the open MULTI's pipeline, rules' own */
    void *pub;
    rules_rewind_fn rewind;
    void *rewind_ctx;
    char open[RC_URN_LEN + 1]; /* the school whose MULTI is open, "" for none */
    int open_entries;          /* log entries inside it */
    school_t *schools;
    size_t nschools, capschools;
    policy_slot_t *policies;
    size_t npolicies;
    held_t *held;
    size_t nheld;
    int queued; /* commands inside the open MULTI */
    pending_t *pend;
    size_t npend, cappend;
    agg_delta_t *delta; /* the open MULTI's moves of the school's totals */
    rules_stats_t stats;
};

/* ---- ownership ---- */

int rules_owns(const rules_t *self, const char *urn)
{
    return service_list_has(self->cfg->schools, urn);
}

/* ---- policies and held schools ---- */

/* policy_get returns the policy called name, loading
 * <policies_dir>/<name>.yaml the first time; NULL with why set otherwise. */
static const policy_t *policy_get(rules_t *self, const char *name, char why[POLICY_ERR_MAX])
{
    for (size_t i = 0; i < self->npolicies; i++)
        if (strcmp(self->policies[i].name, name) == 0)
            return self->policies[i].policy;
    if (!name[0] || strchr(name, '/') || strlen(name) > POLICY_NAME_MAX) {
        snprintf(why, POLICY_ERR_MAX, "the school names no usable policy (schools.csv, policy)");
        return NULL;
    }
    char path[RULES_PATH_MAX + POLICY_NAME_MAX + 8];
    snprintf(path, sizeof path, "%s/%s.yaml", self->cfg->policies_dir, name);
    policy_t *p = NULL;
    if (policy_load_file(path, &p, why) != RC_OK)
        return NULL;
    if (strcmp(p->name, name) != 0) {
        snprintf(why, POLICY_ERR_MAX, "%.300s: its `policy:` is %s, not %s", path, p->name, name);
        policy_destroy(&p);
        return NULL;
    }
    policy_slot_t *v = realloc(self->policies, (self->npolicies + 1) * sizeof *v);
    if (!v) {
        snprintf(why, POLICY_ERR_MAX, "out of memory");
        policy_destroy(&p);
        return NULL;
    }
    self->policies = v;
    snprintf(v[self->npolicies].name, sizeof v->name, "%s", name);
    v[self->npolicies++].policy = p;
    log_info("rules.policy_loaded", LOG_STR("policy", name), LOG_STR("path", path),
             LOG_INT("tracks", (int64_t)p->ntracks));
    return p;
}

/* hold records that urn cannot run, logging only a new reason. */
static void hold(rules_t *self, const char *urn, const char *why)
{
    held_t *h = NULL;
    for (size_t i = 0; i < self->nheld && !h; i++)
        if (strcmp(self->held[i].urn, urn) == 0)
            h = &self->held[i];
    if (h && strcmp(h->why, why) == 0)
        return;
    if (!h) {
        held_t *v = realloc(self->held, (self->nheld + 1) * sizeof *v);
        if (!v)
            return;
        self->held = v;
        h = &v[self->nheld++];
        snprintf(h->urn, sizeof h->urn, "%s", urn);
    }
    snprintf(h->why, sizeof h->why, "%s", why);
    log_error("rules.school_held", LOG_STR("urn", urn), LOG_STR("why", why),
              LOG_STR("fix", "mend the policy file or the school's row; the school resumes "
                             "where it stopped"));
}

static void release(rules_t *self, const char *urn)
{
    for (size_t i = 0; i < self->nheld; i++)
        if (strcmp(self->held[i].urn, urn) == 0) {
            self->held[i] = self->held[--self->nheld];
            log_info("rules.school_resumed", LOG_STR("urn", urn));
            return;
        }
}

/* ---- the cache of schools and pupils ---- */

static void pupil_release(pupil_t *p)
{
    pupil_state_release(&p->st);
    free(p->facts);
}

static void school_release(school_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        pupil_release(&s->pupils[i]);
    free(s->pupils);
    calendar_destroy(&s->cal);
    memset(s, 0, sizeof *s);
}

/* forget drops a school from the cache: after a failed commit the memory
 * may be ahead of Redis, and Redis is the truth. */
static void forget(rules_t *self, school_t *s)
{
    size_t i = (size_t)(s - self->schools);
    school_release(s);
    memmove(&self->schools[i], &self->schools[i + 1],
            (self->nschools - i - 1) * sizeof *self->schools);
    self->nschools--;
}

static int reply_ok(const redisReply *r, int type, size_t elements)
{
    return r && r->type == type && (type != REDIS_REPLY_ARRAY || r->elements == elements);
}

/* school_row reads the school's LA and policy; RC_ENOTFOUND (why set) when
 * the policy cannot be used. */
static rc_err_t school_row(rules_t *self, school_t *s, char why[POLICY_ERR_MAX])
{
    redisReply *r = redisCommand(self->rd, "HMGET rc:school:{%s} la_code policy", s->urn);
    if (!reply_ok(r, REDIS_REPLY_ARRAY, 2)) {
        freeReplyObject(r);
        snprintf(why, POLICY_ERR_MAX, "Redis failed");
        return RC_EIO;
    }
    const redisReply *la = r->element[0], *name = r->element[1];
    rc_err_t err = RC_OK;
    if (la->type != REDIS_REPLY_STRING || name->type != REDIS_REPLY_STRING) {
        snprintf(why, POLICY_ERR_MAX, "the school has no row (send schools.csv first)");
        err = RC_ENOTFOUND;
    } else if (!(s->policy = policy_get(self, name->str, why))) {
        err = RC_ENOTFOUND;
    } else {
        snprintf(s->la, sizeof s->la, "%s", la->str);
        agg_policy_order(s->policy, s->band_order, s->stage_order);
    }
    freeReplyObject(r);
    return err;
}

static rc_err_t school_load(rules_t *self, const char *urn, school_t *s)
{
    char why[POLICY_ERR_MAX] = "";
    memset(s, 0, sizeof *s);
    snprintf(s->urn, sizeof s->urn, "%s", urn);
    s->today = RC_DATE_NONE;
    redisReply *r = redisCommand(self->rd, "HMGET rs:school:{%s} pos out today minute", urn);
    if (!reply_ok(r, REDIS_REPLY_ARRAY, 4)) {
        freeReplyObject(r);
        return RC_EIO;
    }
    if (r->element[0]->type == REDIS_REPLY_STRING)
        s->pos = s->applied = strtoull(r->element[0]->str, NULL, 10);
    if (r->element[1]->type == REDIS_REPLY_STRING)
        s->out = strtoull(r->element[1]->str, NULL, 10);
    if (r->element[2]->type == REDIS_REPLY_STRING)
        date_parse(r->element[2]->str, r->element[2]->len, &s->today);
    if (r->element[3]->type == REDIS_REPLY_STRING)
        s->minute = atoi(r->element[3]->str);
    freeReplyObject(r);
    rc_err_t err = school_row(self, s, why);
    if (err == RC_ENOTFOUND)
        hold(self, urn, why);
    if (err != RC_OK)
        return err;
    release(self, urn);
    return refdata_load_calendar(self->rd, urn, &s->cal);
}

static school_t *school_get(rules_t *self, const char *urn, rc_err_t *err)
{
    *err = RC_OK;
    for (size_t i = 0; i < self->nschools; i++)
        if (strcmp(self->schools[i].urn, urn) == 0)
            return &self->schools[i];
    if (self->nschools == self->capschools) {
        size_t cap = self->capschools ? self->capschools * 2 : 8;
        school_t *v = realloc(self->schools, cap * sizeof *v);
        if (!v) {
            *err = RC_ENOMEM;
            return NULL;
        }
        self->schools = v;
        self->capschools = cap;
    }
    school_t *s = &self->schools[self->nschools];
    if ((*err = school_load(self, urn, s)) != RC_OK) {
        school_release(s);
        return NULL;
    }
    self->nschools++;
    return s;
}

static int cmp_pupil(const void *key, const void *elem)
{
    return strcmp(key, ((const pupil_t *)elem)->upn);
}

/* pupil_row takes the flags and year group from a reply to HMGET rc:pupil
 * flags year_group. */
static void pupil_row(pupil_t *p, const redisReply *r)
{
    const redisReply *flags = r->element[0], *year = r->element[1];
    p->flags = flags->type == REDIS_REPLY_STRING ? (unsigned)strtoul(flags->str, NULL, 10) : 0;
    p->year = year->type == REDIS_REPLY_STRING ? atoi(year->str) : AGG_NO_YEAR;
}

/* read_pupil fills p from its three stored parts: the rules' own hash
 * (marks and policy state), the reference row's flags and the case facts. */
static rc_err_t read_pupil(rules_t *self, const school_t *s, pupil_t *p)
{
    redisAppendCommand(self->rd, "HMGET rs:pupil:{%s}:%s slots policy agg", s->urn, p->upn);
    redisAppendCommand(self->rd, "HMGET rc:pupil:{%s}:%s flags year_group", s->urn, p->upn);
    redisAppendCommand(self->rd, "LRANGE rs:facts:{%s}:%s 0 -1", s->urn, p->upn);
    redisReply *r[3] = {0};
    rc_err_t err = RC_OK;
    for (int i = 0; i < 3; i++)
        if (redisGetReply(self->rd, (void **)&r[i]) != REDIS_OK)
            err = RC_EIO;
    if (err != RC_OK || !reply_ok(r[0], REDIS_REPLY_ARRAY, 3) ||
        !reply_ok(r[1], REDIS_REPLY_ARRAY, 2) || r[2]->type != REDIS_REPLY_ARRAY) {
        err = RC_EIO;
        goto out;
    }
    rc_date_t today = s->today != RC_DATE_NONE ? s->today : 0;
    const redisReply *slots = r[0]->element[0], *policy = r[0]->element[1];
    if (slots->type == REDIS_REPLY_STRING) {
        if (pupil_state_decode(&p->st, s->cal, today, (const uint8_t *)slots->str, slots->len) !=
            RC_OK)
            log_error("rules.bad_pupil_state", LOG_STR("urn", s->urn), LOG_UPN("upn", p->upn));
    } else {
        pupil_state_init(&p->st, s->cal, today);
    }
    unsigned dropped = 0;
    if (policy->type == REDIS_REPLY_STRING) {
        if (policy_state_parse(s->policy, policy->str, policy->len, &p->ps, &dropped) != RC_OK)
            log_error("rules.bad_policy_state", LOG_STR("urn", s->urn), LOG_UPN("upn", p->upn));
        else if (dropped)
            log_warn("rules.policy_state_dropped", LOG_STR("urn", s->urn), LOG_UPN("upn", p->upn),
                     LOG_INT("tracks_or_stages", dropped),
                     LOG_STR("why", "the policy no longer has them: the pupil starts again there"));
    } else {
        pupil_policy_state_init(&p->ps);
    }
    pupil_row(p, r[1]);
    const redisReply *agg = r[0]->element[2];
    if (agg->type == REDIS_REPLY_STRING && agg_contrib_parse(agg->str, agg->len, &p->agg) != RC_OK)
        log_error("rules.bad_agg", LOG_STR("urn", s->urn), LOG_UPN("upn", p->upn));
    if (r[2]->elements) {
        if (!(p->facts = calloc(r[2]->elements, sizeof *p->facts))) {
            err = RC_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < r[2]->elements; i++) {
            const redisReply *f = r[2]->element[i];
            if (f->type == REDIS_REPLY_STRING &&
                policy_fact_parse(f->str, f->len, &p->facts[p->nfacts]) == RC_OK)
                p->nfacts++;
            else
                log_error("rules.bad_fact", LOG_STR("urn", s->urn), LOG_UPN("upn", p->upn));
        }
    }
out:
    for (int i = 0; i < 3; i++)
        freeReplyObject(r[i]);
    return err;
}

/* pupil_get finds a pupil, reading what is stored of it the first time. */
static pupil_t *pupil_get(rules_t *self, school_t *s, const char *upn, rc_err_t *err)
{
    *err = RC_OK;
    pupil_t *p = s->n ? bsearch(upn, s->pupils, s->n, sizeof *s->pupils, cmp_pupil) : NULL;
    if (p)
        return p;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        pupil_t *v = realloc(s->pupils, cap * sizeof *v);
        if (!v) {
            *err = RC_ENOMEM;
            return NULL;
        }
        s->pupils = v;
        s->cap = cap;
    }
    pupil_t fresh = {0};
    snprintf(fresh.upn, sizeof fresh.upn, "%s", upn);
    if ((*err = read_pupil(self, s, &fresh)) != RC_OK) {
        pupil_release(&fresh);
        return NULL;
    }
    size_t i = 0;
    while (i < s->n && strcmp(s->pupils[i].upn, upn) < 0)
        i++;
    memmove(&s->pupils[i + 1], &s->pupils[i], (s->n - i) * sizeof *s->pupils);
    s->pupils[i] = fresh;
    s->n++;
    return &s->pupils[i];
}

/* load_all brings every pupil with state into the cache, once. */
static rc_err_t load_all(rules_t *self, school_t *s)
{
    if (s->all_loaded)
        return RC_OK;
    redisReply *r = redisCommand(self->rd, "SMEMBERS rs:pupils:{%s}", s->urn);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return RC_EIO;
    }
    rc_err_t err = RC_OK;
    for (size_t i = 0; i < r->elements && err == RC_OK; i++)
        pupil_get(self, s, r->element[i]->str, &err);
    freeReplyObject(r);
    s->all_loaded = err == RC_OK;
    return err;
}

/* ---- the open transaction ---- */

static void queue(rules_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisvAppendCommand(self->wr, fmt, ap);
    va_end(ap);
    self->queued++;
}

static void pending_clear(rules_t *self)
{
    for (size_t i = 0; i < self->npend; i++)
        free(self->pend[i].buf);
    self->npend = 0;
}

/* queue_aggregates moves the school's totals and indexes from what p last
 * contributed to what it contributes now, into agg_text. */
static rc_err_t queue_aggregates(rules_t *self, const school_t *s, pupil_t *p,
                                 char agg_text[AGG_TEXT_MAX])
{
    agg_contrib_t now;
    agg_contrib_make(&now, s->policy, &p->ps, &p->st.m, p->year, p->flags);
    agg_contrib_format(&now, agg_text);
    if (memcmp(&now, &p->agg, sizeof now) == 0)
        return RC_OK;
    rc_err_t err = agg_delta_contrib(self->delta, &p->agg, -1);
    if (err == RC_OK)
        err = agg_delta_contrib(self->delta, &now, +1);
    if (err != RC_OK)
        return err;
    self->queued += agg_index_queue(self->wr, s->urn, p->upn, &p->agg, &now);
    p->agg = now;
    return RC_OK;
}

/* queue_pupil appends the HSET of one pupil's state and its SADD, and the
 * moves of the school's totals and indexes. */
static rc_err_t queue_pupil(rules_t *self, const school_t *s, pupil_t *p)
{
    enum { NMETRIC = 8, MAXARGS = 2 + 2 * (NMETRIC + 7 + POLICY_MAX_TRACKS) };
    uint8_t *blob;
    size_t len;
    const metrics_t *m = &p->st.m;
    char key[64], v[NMETRIC][16], pct[16] = "", today[RC_DATE_STRLEN];
    char state[POLICY_STATE_MAX], fields[POLICY_MAX_TRACKS][POLICY_NAME_MAX + 8];
    char agg[AGG_TEXT_MAX];
    rc_err_t err = queue_aggregates(self, s, p, agg);
    if (err != RC_OK)
        return err;
    static const char *const names[NMETRIC] = {
        "possible_sessions",           "attended_sessions",           "authorised_absences",
        "unauthorised_absences",       "late_before_close",           "late_after_close",
        "penalty_window_unauthorised", "consecutive_unexplained_days"};
    const uint32_t vals[NMETRIC] = {
        m->possible_sessions,           m->attended_sessions,           m->authorised_absences,
        m->unauthorised_absences,       m->late_before_close,           m->late_after_close,
        m->penalty_window_unauthorised, m->consecutive_unexplained_days};
    const char *argv[MAXARGS];
    size_t argl[MAXARGS];
    int argc = 0;
#define ARG(s) (argl[argc] = strlen(argv[argc] = (s)), argc++)
    if (pupil_state_encode(&p->st, &blob, &len) != RC_OK)
        return RC_ENOMEM;
    snprintf(key, sizeof key, "rs:pupil:{%s}:%s", s->urn, p->upn);
    ARG("HSET");
    ARG(key);
    argv[argc] = "slots";
    argl[argc++] = 5;
    argv[argc] = (const char *)blob;
    argl[argc++] = len;
    for (int i = 0; i < NMETRIC; i++) {
        snprintf(v[i], sizeof v[i], "%" PRIu32, vals[i]);
        ARG(names[i]);
        ARG(v[i]);
    }
    const policy_band_t *band = NULL;
    if (metrics_has_pct(m)) {
        snprintf(pct, sizeof pct, "%.1f", metrics_attendance_pct(m));
        band = policy_band(s->policy, metrics_attendance_pct(m));
    }
    ARG("attendance_pct");
    ARG(pct);
    ARG("persistent_absentee");
    ARG(metrics_is_persistent(m) ? "1" : "0");
    ARG("severe_absentee");
    ARG(metrics_is_severe(m) ? "1" : "0");
    ARG("as_of");
    ARG(date_format(p->st.today, today));
    ARG("band");
    ARG(band ? band->name : "");
    policy_state_format(s->policy, &p->ps, state);
    ARG("policy");
    ARG(state);
    ARG("agg");
    ARG(agg);
    for (size_t t = 0; t < s->policy->ntracks; t++) {
        snprintf(fields[t], sizeof fields[t], "stage:%s", s->policy->tracks[t].id);
        ARG(fields[t]);
        ARG(policy_eval_stage_id(s->policy, &p->ps, t));
    }
#undef ARG
    redisAppendCommandArgv(self->wr, argc, argv, argl);
    self->queued++;
    queue(self, "SADD rs:pupils:{%s} %s", s->urn, p->upn);
    free(blob);
    return RC_OK;
}

/* ---- events ---- */

/* emit writes one decision into the outbox (and the pupil's history) inside
 * the open MULTI and keeps it to publish after the commit. */
static rc_err_t emit(rules_t *self, school_t *s, const pupil_t *p, const eval_decision_t *d)
{
    wire_msg_t msg;
    codec_msg_init(&msg, WIRE_PUPIL_EVENT);
    rc_err_t err = policy_eval_event(d, s->today, &p->st.m, &msg.u.event);
    if (err == RC_ENOTFOUND)
        return RC_OK; /* a decision the wire cannot carry yet */
    if (err != RC_OK)
        return err;
    snprintf(msg.u.event.la_code, sizeof msg.u.event.la_code, "%s", s->la);
    snprintf(msg.u.event.upn, sizeof msg.u.event.upn, "%s", p->upn);
    snprintf(msg.urn, sizeof msg.urn, "%s", s->urn);
    msg.seq = s->out + 1;
    /* The outbox position names the event: a replay of the same log writes
     * the same events at the same positions, so the ids are stable. */
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRIu64, msg.seq);
    const char *parts[] = {"pupil_event", s->urn, seq, p->upn};
    codec_event_id(parts, 4, msg.event_id);

    if (self->npend == self->cappend) {
        size_t cap = self->cappend ? self->cappend * 2 : 16;
        pending_t *v = realloc(self->pend, cap * sizeof *v);
        if (!v)
            return RC_ENOMEM;
        self->pend = v;
        self->cappend = cap;
    }
    pending_t *pe = &self->pend[self->npend];
    char why[CODEC_WHY_MAX] = "";
    pe->referral_topic[0] = '\0';
    if ((err = codec_encode(&msg, &pe->buf, &pe->len, why)) != RC_OK ||
        (err = codec_topic(&msg, pe->topic)) != RC_OK ||
        (msg.u.event.kind == EVENT_REFERRAL &&
         (err = codec_topic_referral(&msg, pe->referral_topic)) != RC_OK)) {
        log_error("rules.event_refused", LOG_STR("urn", s->urn), LOG_UPN("upn", p->upn),
                  LOG_STR("kind", event_kind_name(msg.u.event.kind)), LOG_STR("why", why));
        free(pe->buf);
        return err == RC_ENOMEM ? err : RC_OK; /* a bug, logged; the state still moves */
    }
    self->npend++;
    queue(self, "XADD rs:outbox:{%s} %" PRIu64 "-0 e %b", s->urn, msg.seq, pe->buf, pe->len);
    queue(self, "RPUSH rs:hist:{%s}:%s %" PRIu64, s->urn, p->upn, msg.seq);
    if (msg.u.event.kind == EVENT_REFERRAL) {
        queue(self, "RPUSH rs:refs:{%s} %" PRIu64, s->urn, msg.seq);
    } else if (msg.u.event.kind == EVENT_ALERT) {
        char day[RC_DATE_STRLEN];
        queue(self, "RPUSH rs:alerts:{%s}:%s %" PRIu64, s->urn, date_format(s->today, day),
              msg.seq);
    }
    s->out = msg.seq;
    self->stats.events++;
    return RC_OK;
}

/* evaluate runs the policy for one pupil at the school's date and minute,
 * emitting what it decides; *changed is set when the policy state moved. */
static rc_err_t evaluate(rules_t *self, school_t *s, pupil_t *p, int *changed)
{
    if (s->today == RC_DATE_NONE)
        return RC_OK;
    if (p->st.today != s->today)
        pupil_state_set_today(&p->st, s->cal, s->today);
    eval_input_t in = {.policy = s->policy,
                       .cal = s->cal,
                       .st = &p->st,
                       .flags = p->flags,
                       .facts = p->facts,
                       .nfacts = p->nfacts,
                       .today = s->today,
                       .minute = s->minute};
    pupil_policy_state_t before = p->ps;
    static eval_result_t res; /* one evaluation at a time; too big for the stack */
    rc_err_t err = policy_eval(&in, &p->ps, &res);
    if (err != RC_OK) {
        log_error("rules.eval_refused", LOG_STR("urn", s->urn), LOG_UPN("upn", p->upn),
                  LOG_STR("error", rc_strerror(err)));
        return RC_OK;
    }
    /* The state is all 32-bit fields (no padding), so bytes compare. */
    if (memcmp(&before, &p->ps, sizeof before) != 0)
        *changed = 1;
    for (size_t i = 0; i < res.n; i++)
        if ((err = emit(self, s, p, &res.d[i])) != RC_OK)
            return err;
    return RC_OK;
}

/* evaluate_all moves every pupil to the school's date (dated: the date
 * changed, so every pupil is written) and evaluates each. */
static rc_err_t evaluate_all(rules_t *self, school_t *s, int dated)
{
    for (size_t i = 0; i < s->n; i++) {
        pupil_t *p = &s->pupils[i];
        int changed = dated;
        if (dated)
            pupil_state_set_today(&p->st, s->cal, s->today);
        rc_err_t err = evaluate(self, s, p, &changed);
        if (err == RC_OK && changed)
            err = queue_pupil(self, s, p);
        if (err != RC_OK)
            return err;
    }
    return RC_OK;
}

/* ---- committing ---- */

/* commit ends the open MULTI with the school's position, EXEC, and checks
 * every reply, including each command's inside the EXEC. */
static rc_err_t commit(rules_t *self, school_t *s)
{
    uint64_t seq = s->applied;
    char today[RC_DATE_STRLEN] = "";
    if (s->today != RC_DATE_NONE)
        date_format(s->today, today);
    char target[16] = "";
    if (s->policy->target_pct > 0.0)
        snprintf(target, sizeof target, "%.1f", s->policy->target_pct);
    self->queued += agg_delta_flush(self->delta, self->wr, s->urn);
    queue(self,
          "HSET rs:school:{%s} pos %" PRIu64 " out %" PRIu64
          " today %s minute %d policy %s target_pct %s band_order %s stage_order %s",
          s->urn, seq, s->out, today, s->minute, s->policy->name, target, s->band_order,
          s->stage_order);
    queue(self, "SET rs:out:{%s} %" PRIu64, s->urn, s->out); /* the outbox's tail, for feeds */
    redisAppendCommand(self->wr, "EXEC");
    int ok = 1;
    const char *why = NULL;
    for (int i = 0; i < self->queued + 2; i++) { /* MULTI, the commands, EXEC */
        void *r = NULL;
        if (redisGetReply(self->wr, &r) != REDIS_OK) {
            ok = 0;
            break;
        }
        redisReply *rep = r;
        if (i == self->queued + 1) {
            if (rep->type != REDIS_REPLY_ARRAY) {
                ok = 0;
                why = "EXEC refused";
            }
            for (size_t k = 0; ok && k < rep->elements; k++)
                if (rep->element[k]->type == REDIS_REPLY_ERROR) {
                    ok = 0; /* a bug: MULTI does not roll back, so say loudly */
                    why = "a command inside the transaction failed";
                    log_error("rules.commit_partial", LOG_STR("urn", s->urn),
                              LOG_INT("seq", (int64_t)seq), LOG_STR("error", rep->element[k]->str));
                }
        }
        freeReplyObject(r);
    }
    if (!ok) {
        self->stats.commits_failed++;
        log_warn("rules.commit_failed", LOG_STR("urn", s->urn), LOG_INT("seq", (int64_t)seq),
                 LOG_STR("error", self->wr->err ? self->wr->errstr
                                  : why         ? why
                                                : "?"));
        return RC_EIO;
    }
    s->pos = seq;
    return RC_OK;
}

/* publish sends what the last commit made durable; a subscriber that misses
 * it reads it from the outbox. */
static void publish(rules_t *self)
{
    for (size_t i = 0; i < self->npend && self->pub; i++) {
        const pending_t *pe = &self->pend[i];
        const char *topics[2] = {pe->topic, pe->referral_topic};
        for (int t = 0; t < 2; t++) {
            if (!topics[t][0])
                continue;
            if (zmq_send(self->pub, topics[t], strlen(topics[t]), ZMQ_SNDMORE) < 0 ||
                zmq_send(self->pub, pe->buf, pe->len, 0) < 0)
                self->stats.publish_failed++;
        }
    }
    pending_clear(self);
}

/* ---- applying one log entry ---- */

static rc_err_t apply_mark(rules_t *self, school_t *s, const mark_t *mark)
{
    rc_err_t err;
    pupil_t *p = pupil_get(self, s, mark->upn, &err);
    if (!p)
        return err;
    if (s->today == RC_DATE_NONE) { /* no tick yet: start on the first mark's day */
        s->today = mark->date;
        pupil_state_set_today(&p->st, s->cal, s->today);
    }
    int changed = 0;
    const mark_slot_t *slot = pupil_state_find(&p->st, mark->date, mark->session);
    int had = slot != NULL;
    att_code_t was = had ? (att_code_t)slot->code : mark->code;
    if ((err = pupil_state_apply(&p->st, s->cal, mark, &changed)) != RC_OK)
        return err;
    self->stats.marks += changed;
    self->stats.unchanged += !changed;
    if (!changed)
        return RC_OK;
    slot = pupil_state_find(&p->st, mark->date, mark->session);
    if (slot && (err = agg_delta_mark(self->delta, mark->date, had, was, 1,
                                      (att_code_t)slot->code)) != RC_OK)
        return err;
    if ((err = evaluate(self, s, p, &changed)) != RC_OK)
        return err;
    return queue_pupil(self, s, p);
}

static rc_err_t apply_tick(rules_t *self, school_t *s, rc_time_t now, int32_t offset)
{
    rc_err_t err = load_all(self, s);
    if (err != RC_OK)
        return err;
    rc_date_t day = time_local_date(now, offset);
    int dated = day != s->today;
    s->today = day;
    s->minute = time_local_minute(now, offset);
    return evaluate_all(self, s, dated);
}

static rc_err_t apply_fact(rules_t *self, school_t *s, const case_fact_t *fact)
{
    rc_err_t err;
    pupil_t *p = pupil_get(self, s, fact->upn, &err);
    if (!p)
        return err;
    eval_fact_t *v = realloc(p->facts, (p->nfacts + 1) * sizeof *v);
    if (!v)
        return RC_ENOMEM;
    p->facts = v;
    eval_fact_t *f = &v[p->nfacts++];
    f->kind = fact->kind;
    f->date = fact->date;
    snprintf(f->detail, sizeof f->detail, "%s", fact->detail);
    char text[POLICY_FACT_MAX];
    policy_fact_format(f, text);
    queue(self, "RPUSH rs:facts:{%s}:%s %s", s->urn, p->upn, text);
    int changed = 1;
    if ((err = evaluate(self, s, p, &changed)) != RC_OK)
        return err;
    return queue_pupil(self, s, p);
}

/* reread_flags refreshes the PUPIL_* flags of the cached pupils ref names. */
static rc_err_t reread_flags(rules_t *self, school_t *s, const refdata_change_t *ref)
{
    for (size_t i = 0; i < s->n; i++) {
        pupil_t *p = &s->pupils[i];
        int named = ref->n_upns == 0;
        for (size_t k = 0; k < ref->n_upns && !named; k++)
            named = strcmp(ref->upns[k], p->upn) == 0;
        if (!named)
            continue;
        redisReply *r =
            redisCommand(self->rd, "HMGET rc:pupil:{%s}:%s flags year_group", s->urn, p->upn);
        if (!reply_ok(r, REDIS_REPLY_ARRAY, 2)) {
            freeReplyObject(r);
            return RC_EIO;
        }
        unsigned flags = p->flags;
        int year = p->year;
        pupil_row(p, r);
        freeReplyObject(r);
        if (p->agg.counted && (flags != p->flags || year != p->year)) {
            rc_err_t err = queue_pupil(self, s, p); /* moves it between groups now */
            if (err != RC_OK)
                return err;
        }
    }
    return RC_OK;
}

static rc_err_t apply_ref(rules_t *self, school_t *s, const refdata_change_t *ref)
{
    rc_err_t err = RC_OK;
    char why[POLICY_ERR_MAX] = "";
    switch (ref->kind) {
    case REFDATA_CALENDAR: {
        calendar_t *cal = NULL;
        if ((err = refdata_load_calendar(self->rd, s->urn, &cal)) != RC_OK)
            return err;
        calendar_destroy(&s->cal);
        s->cal = cal;
        if (s->today == RC_DATE_NONE)
            return RC_OK;
        if ((err = load_all(self, s)) != RC_OK)
            return err;
        return evaluate_all(self, s, 1);
    }
    case REFDATA_SCHOOL: /* its LA or policy may have changed */
        if ((err = school_row(self, s, why)) == RC_ENOTFOUND)
            hold(self, s->urn, why);
        break;
    case REFDATA_PUPIL:
        err = reread_flags(self, s, ref);
        break;
    default:
        break;
    }
    return err;
}

/* ---- batches: one MULTI/EXEC for a run of one school's entries ---- */

static school_t *school_find(rules_t *self, const char *urn)
{
    for (size_t i = 0; i < self->nschools; i++)
        if (strcmp(self->schools[i].urn, urn) == 0)
            return &self->schools[i];
    return NULL;
}

/* abandon drops the open batch of s: the queued commands (on a fresh
 * connection, so that none is sent), the events, and the school's cache,
 * which is ahead of Redis; the feed goes back to what Redis holds. */
static void abandon(rules_t *self, school_t *s)
{
    char urn[RC_URN_LEN + 1];
    uint64_t pos = s->pos;
    snprintf(urn, sizeof urn, "%s", s->urn);
    pending_clear(self);
    agg_delta_clear(self->delta);
    redisReconnect(self->wr);
    self->open[0] = '\0';
    forget(self, s);
    if (self->rewind)
        self->rewind(self->rewind_ctx, urn, pos);
}

rc_err_t rules_flush(rules_t *self)
{
    if (!self->open[0])
        return RC_OK;
    school_t *s = school_find(self, self->open);
    rc_err_t err = commit(self, s);
    if (err != RC_OK) {
        abandon(self, s);
        return err;
    }
    self->open[0] = '\0';
    publish(self);
    return RC_OK;
}

/* open_batch makes s the school of the open MULTI, if none is open. */
static void open_batch(rules_t *self, const school_t *s)
{
    if (self->open[0])
        return;
    redisAppendCommand(self->wr, "MULTI");
    self->queued = 0;
    self->open_entries = 0;
    snprintf(self->open, sizeof self->open, "%s", s->urn);
}

rc_err_t rules_apply(void *ctx, const wire_msg_t *msg)
{
    rules_t *self = ctx;
    rc_err_t err;
    if (!rules_owns(self, msg->urn))
        return RC_OK;
    if (self->open[0] && strcmp(self->open, msg->urn) != 0)
        rules_flush(self); /* a failure rewinds that school, not this one */
    school_t *s = school_get(self, msg->urn, &err);
    if (!s)
        return err;
    if (msg->seq <= s->applied)
        return RC_OK; /* applied before a restart: the state already holds it */
    open_batch(self, s);
    switch (msg->kind) {
    case WIRE_MARK:
        err = apply_mark(self, s, &msg->u.mark);
        break;
    case WIRE_TICK:
        self->stats.ticks++;
        err = apply_tick(self, s, msg->u.tick.now, msg->u.tick.utc_offset_s);
        break;
    case WIRE_CASE_FACT:
        self->stats.facts++;
        err = apply_fact(self, s, &msg->u.fact);
        break;
    case WIRE_REFDATA:
        err = apply_ref(self, s, &msg->u.ref);
        break;
    default:
        break;
    }
    if (err != RC_OK) {
        abandon(self, s);
        return err;
    }
    s->applied = msg->seq;
    self->stats.applied++;
    if (++self->open_entries >= RULES_BATCH)
        return rules_flush(self);
    return RC_OK;
}

rc_err_t rules_position(void *ctx, const char *urn, uint64_t *position)
{
    rules_t *self = ctx;
    rc_err_t err;
    if (!rules_owns(self, urn))
        return RC_ENOTFOUND;
    school_t *s = school_get(self, urn, &err);
    if (s) {
        *position = s->pos;
        return RC_OK;
    }
    if (err != RC_ENOTFOUND)
        return err;
    /* Held: follow it from where it stopped, so that it resumes there. */
    redisReply *r = redisCommand(self->rd, "HGET rs:school:{%s} pos", urn);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        freeReplyObject(r);
        return RC_EIO;
    }
    *position = r->type == REDIS_REPLY_STRING ? strtoull(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    return RC_OK;
}

rc_err_t rules_clock(rules_t *self, rc_time_t now, int32_t utc_offset_s)
{
    rc_err_t first = RC_OK;
    if (self->cfg->clock != RULES_CLOCK_WALL)
        return RC_OK;
    int minute = time_local_minute(now, utc_offset_s);
    rc_date_t day = time_local_date(now, utc_offset_s);
    if ((first = rules_flush(self)) != RC_OK)
        return first;
    for (size_t i = 0; i < self->nschools; i++) {
        school_t *s = &self->schools[i];
        if (day == s->today && minute == s->minute)
            continue;
        open_batch(self, s);
        rc_err_t err = apply_tick(self, s, now, utc_offset_s);
        if (err == RC_OK)
            err = rules_flush(self);
        else
            abandon(self, s);
        if (err != RC_OK) {
            i--; /* forgotten: the next school moved into its place */
            if (first == RC_OK)
                first = err;
        }
    }
    return first;
}

/* ---- lifecycle ---- */

rules_t *rules_new(const rules_config_t *cfg, redisContext *rd, redisContext *wr, void *pub)
{
    rules_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->rd = rd;
    self->wr = wr;
    self->pub = pub;
    if (!(self->delta = agg_delta_new())) {
        free(self);
        return NULL;
    }
    return self;
}

void rules_on_rewind(rules_t *self, rules_rewind_fn fn, void *ctx)
{
    self->rewind = fn;
    self->rewind_ctx = ctx;
}

void rules_destroy(rules_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rules_t *self = *self_p;
    for (size_t i = 0; i < self->nschools; i++)
        school_release(&self->schools[i]);
    free(self->schools);
    for (size_t i = 0; i < self->npolicies; i++)
        policy_destroy(&self->policies[i].policy);
    free(self->policies);
    free(self->held);
    pending_clear(self);
    free(self->pend);
    agg_delta_destroy(&self->delta);
    free(self);
    *self_p = NULL;
}

void rules_stats(const rules_t *self, rules_stats_t *out)
{
    *out = self->stats;
}
