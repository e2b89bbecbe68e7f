/* rules.c - apply each school's log to its pupils' state, one MULTI/EXEC per
 * entry with the new position, so a crash leaves all of an entry or none. */
#include "rules/rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/refdata.h"
#include "rollcall/log.h"
#include "rollcall/metrics.h"

typedef struct {
    char upn[RC_UPN_LEN + 1];
    pupil_state_t st;
} pupil_t;

typedef struct {
    char urn[RC_URN_LEN + 1];
    uint64_t pos;
    rc_date_t today; /* RC_DATE_NONE until the first mark or tick */
    calendar_t *cal;
    pupil_t *pupils; /* sorted by upn */
    size_t n, cap;
} school_t;

struct rules {
    const rules_config_t *cfg;
    redisContext *redis;
    school_t *schools;
    size_t nschools, capschools;
    rules_stats_t stats;
};

/* ---- ownership ---- */

int rules_owns(const rules_t *self, const char *urn)
{
    const char *list = self->cfg->schools;
    if (!list[0])
        return 1;
    size_t n = strlen(urn);
    for (const char *p = list; (p = strstr(p, urn)) != NULL; p += n) {
        int starts = p == list || p[-1] == ',' || p[-1] == ' ';
        int ends = p[n] == '\0' || p[n] == ',' || p[n] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

/* ---- the cache of schools and pupils ---- */

static void school_release(school_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        pupil_state_release(&s->pupils[i].st);
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

static rc_err_t school_load(rules_t *self, const char *urn, school_t *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->urn, sizeof s->urn, "%s", urn);
    s->today = RC_DATE_NONE;
    redisReply *r = redisCommand(self->redis, "HMGET rs:school:{%s} pos today", urn);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        freeReplyObject(r);
        return RC_EIO;
    }
    if (r->element[0]->type == REDIS_REPLY_STRING)
        s->pos = strtoull(r->element[0]->str, NULL, 10);
    if (r->element[1]->type == REDIS_REPLY_STRING)
        date_parse(r->element[1]->str, r->element[1]->len, &s->today);
    freeReplyObject(r);
    return refdata_load_calendar(self->redis, urn, &s->cal);
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

/* pupil_get finds a pupil, reading its stored marks the first time. */
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
    redisReply *r = redisCommand(self->redis, "HGET rs:pupil:{%s}:%s slots", s->urn, upn);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        freeReplyObject(r);
        *err = RC_EIO;
        return NULL;
    }
    size_t i = 0;
    while (i < s->n && strcmp(s->pupils[i].upn, upn) < 0)
        i++;
    memmove(&s->pupils[i + 1], &s->pupils[i], (s->n - i) * sizeof *s->pupils);
    p = &s->pupils[i];
    s->n++;
    snprintf(p->upn, sizeof p->upn, "%s", upn);
    rc_date_t today = s->today != RC_DATE_NONE ? s->today : 0;
    if (r->type == REDIS_REPLY_STRING) {
        if (pupil_state_decode(&p->st, s->cal, today, (const uint8_t *)r->str, r->len) != RC_OK)
            log_error("rules.bad_pupil_state", LOG_STR("urn", s->urn), LOG_UPN("upn", upn));
    } else {
        pupil_state_init(&p->st, s->cal, today);
    }
    freeReplyObject(r);
    return p;
}

/* ---- writing ---- */

/* queue_pupil appends the HSET of one pupil's state to the pipeline; returns
 * the number of commands queued (0 on allocation failure). */
static int queue_pupil(rules_t *self, const school_t *s, const pupil_t *p)
{
    uint8_t *blob;
    size_t len;
    if (pupil_state_encode(&p->st, &blob, &len) != RC_OK)
        return 0;
    const metrics_t *m = &p->st.m;
    char key[64], v[9][24], pct[16] = "";
    snprintf(key, sizeof key, "rs:pupil:{%s}:%s", s->urn, p->upn);
    uint32_t vals[8] = {m->possible_sessions,           m->attended_sessions,
                        m->authorised_absences,         m->unauthorised_absences,
                        m->late_before_close,           m->late_after_close,
                        m->penalty_window_unauthorised, m->consecutive_unexplained_days};
    for (int i = 0; i < 8; i++)
        snprintf(v[i], sizeof v[i], "%" PRIu32, vals[i]);
    if (metrics_has_pct(m))
        snprintf(pct, sizeof pct, "%.1f", metrics_attendance_pct(m));
    date_format(p->st.today, v[8]);
    const char *argv[] = {"HSET",
                          key,
                          "slots",
                          (const char *)blob,
                          "possible_sessions",
                          v[0],
                          "attended_sessions",
                          v[1],
                          "authorised_absences",
                          v[2],
                          "unauthorised_absences",
                          v[3],
                          "late_before_close",
                          v[4],
                          "late_after_close",
                          v[5],
                          "penalty_window_unauthorised",
                          v[6],
                          "consecutive_unexplained_days",
                          v[7],
                          "attendance_pct",
                          pct,
                          "persistent_absentee",
                          metrics_is_persistent(m) ? "1" : "0",
                          "severe_absentee",
                          metrics_is_severe(m) ? "1" : "0",
                          "as_of",
                          v[8]};
    size_t argl[sizeof argv / sizeof *argv];
    for (size_t i = 0; i < sizeof argv / sizeof *argv; i++)
        argl[i] = i == 3 ? len : strlen(argv[i]);
    redisAppendCommandArgv(self->redis, (int)(sizeof argv / sizeof *argv), argv, argl);
    redisAppendCommand(self->redis, "SADD rs:pupils:{%s} %s", s->urn, p->upn);
    free(blob);
    return 2;
}

/* commit ends a MULTI opened by the caller with the school's new position
 * and date, EXEC, and checks every reply. queued counts the commands the
 * caller put inside. */
static rc_err_t commit(rules_t *self, school_t *s, uint64_t seq, int queued)
{
    char today[RC_DATE_STRLEN] = "";
    if (s->today != RC_DATE_NONE)
        date_format(s->today, today);
    redisAppendCommand(self->redis, "HSET rs:school:{%s} pos %" PRIu64 " today %s", s->urn, seq,
                       today);
    redisAppendCommand(self->redis, "EXEC");
    int ok = 1;
    for (int i = 0; i < queued + 3; i++) { /* MULTI, the commands, HSET, EXEC */
        void *r = NULL;
        if (redisGetReply(self->redis, &r) != REDIS_OK) {
            ok = 0;
            break;
        }
        redisReply *rep = r;
        if (i == queued + 2 && rep->type != REDIS_REPLY_ARRAY)
            ok = 0;
        freeReplyObject(r);
    }
    if (!ok) {
        self->stats.commits_failed++;
        log_warn("rules.commit_failed", LOG_STR("urn", s->urn), LOG_INT("seq", (int64_t)seq),
                 LOG_STR("error", self->redis->err ? self->redis->errstr : "EXEC refused"));
        return RC_EIO;
    }
    s->pos = seq;
    return RC_OK;
}

/* refresh_all moves every pupil of the school to its date (after a tick or
 * a new calendar) and queues them all; returns commands queued, -1 on error. */
static int refresh_all(rules_t *self, school_t *s)
{
    redisReply *r = redisCommand(self->redis, "SMEMBERS rs:pupils:{%s}", s->urn);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        rc_err_t err;
        if (!pupil_get(self, s, r->element[i]->str, &err)) {
            freeReplyObject(r);
            return -1;
        }
    }
    freeReplyObject(r);
    redisAppendCommand(self->redis, "MULTI");
    int queued = 0;
    for (size_t i = 0; i < s->n; i++) {
        pupil_state_set_today(&s->pupils[i].st, s->cal, s->today);
        int q = queue_pupil(self, s, &s->pupils[i]);
        if (!q)
            return -1;
        queued += q;
    }
    return queued;
}

/* ---- applying one log entry ---- */

rc_err_t rules_apply(void *ctx, const wire_msg_t *msg)
{
    rules_t *self = ctx;
    rc_err_t err;
    if (!rules_owns(self, msg->urn))
        return RC_OK;
    school_t *s = school_get(self, msg->urn, &err);
    if (!s)
        return err;
    if (msg->seq <= s->pos)
        return RC_OK; /* applied before a restart: the state already holds it */
    int queued = 0;
    switch (msg->kind) {
    case WIRE_MARK: {
        pupil_t *p = pupil_get(self, s, msg->u.mark.upn, &err);
        if (!p)
            goto failed;
        if (s->today == RC_DATE_NONE) { /* no tick yet: start on the first mark's day */
            s->today = msg->u.mark.date;
            pupil_state_set_today(&p->st, s->cal, s->today);
        }
        int changed = 0;
        if ((err = pupil_state_apply(&p->st, s->cal, &msg->u.mark, &changed)) != RC_OK)
            goto failed;
        redisAppendCommand(self->redis, "MULTI");
        if (changed && !(queued = queue_pupil(self, s, p))) {
            err = RC_ENOMEM;
            goto failed;
        }
        self->stats.marks += changed;
        self->stats.unchanged += !changed;
        break;
    }
    case WIRE_TICK: {
        rc_date_t day = time_local_date(msg->u.tick.now, msg->u.tick.utc_offset_s);
        self->stats.ticks++;
        if (day != s->today) {
            s->today = day;
            if ((queued = refresh_all(self, s)) < 0) {
                err = RC_EIO;
                goto failed;
            }
        } else {
            redisAppendCommand(self->redis, "MULTI");
        }
        break;
    }
    case WIRE_REFDATA:
        if (msg->u.ref.kind == REFDATA_CALENDAR) {
            calendar_t *cal = NULL;
            if ((err = refdata_load_calendar(self->redis, s->urn, &cal)) != RC_OK)
                goto failed;
            calendar_destroy(&s->cal);
            s->cal = cal;
            if (s->today != RC_DATE_NONE && (queued = refresh_all(self, s)) < 0) {
                err = RC_EIO;
                goto failed;
            }
            if (s->today == RC_DATE_NONE)
                redisAppendCommand(self->redis, "MULTI");
            break;
        }
        redisAppendCommand(self->redis, "MULTI");
        break;
    default: /* case facts: kept for the policies (issue 4) */
        redisAppendCommand(self->redis, "MULTI");
        break;
    }
    if ((err = commit(self, s, msg->seq, queued)) != RC_OK)
        goto failed;
    self->stats.applied++;
    return RC_OK;
failed:
    /* Commands queued but never sent would be read as the next replies:
     * start a fresh connection instead. And whatever is in memory may now be
     * ahead of Redis, which is the truth: read the school again next time. */
    if (self->redis->obuf && self->redis->obuf[0] != '\0')
        redisReconnect(self->redis);
    forget(self, s);
    return err == RC_OK ? RC_EIO : err;
}

rc_err_t rules_position(void *ctx, const char *urn, uint64_t *position)
{
    rules_t *self = ctx;
    rc_err_t err;
    if (!rules_owns(self, urn))
        return RC_ENOTFOUND;
    school_t *s = school_get(self, urn, &err);
    if (!s)
        return err;
    *position = s->pos;
    return RC_OK;
}

/* ---- lifecycle ---- */

rules_t *rules_new(const rules_config_t *cfg, redisContext *redis)
{
    rules_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->redis = redis;
    return self;
}

void rules_destroy(rules_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rules_t *self = *self_p;
    for (size_t i = 0; i < self->nschools; i++)
        school_release(&self->schools[i]);
    free(self->schools);
    free(self);
    *self_p = NULL;
}

void rules_stats(const rules_t *self, rules_stats_t *out)
{
    *out = self->stats;
}
