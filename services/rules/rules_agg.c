/* rules_agg.c - contributions, the delta table and index changes. */
#include "rules/rules_agg.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/records.h"

#define FIELD_MAX 128

static const struct {
    unsigned flag;
    const char *name;
} cohorts[] = {{PUPIL_SEN, "sen"},
               {PUPIL_FSM, "fsm"},
               {PUPIL_EAL, "eal"},
               {PUPIL_CLA, "cla"},
               {PUPIL_SOCIAL_WORKER, "social_worker"}};
#define NCOHORTS (sizeof cohorts / sizeof cohorts[0])

void agg_contrib_make(agg_contrib_t *out, const policy_t *p, const pupil_policy_state_t *ps,
                      const metrics_t *m, int year, unsigned flags)
{
    memset(out, 0, sizeof *out); /* whole: contributions compare with memcmp */
    out->counted = 1;
    out->year = year;
    out->flags = flags;
    out->possible = m->possible_sessions;
    out->attended = m->attended_sessions;
    out->authorised = m->authorised_absences;
    out->unauthorised = m->unauthorised_absences;
    out->pa = metrics_is_persistent(m);
    out->sa = metrics_is_severe(m);
    out->pct10 = -1;
    if (metrics_has_pct(m)) {
        double pct = metrics_attendance_pct(m);
        out->pct10 = (int32_t)lround(pct * 10.0);
        const policy_band_t *b = policy_band(p, pct);
        if (b)
            snprintf(out->band, sizeof out->band, "%s", b->name);
    }
    out->ntracks = p->ntracks < POLICY_MAX_TRACKS ? p->ntracks : POLICY_MAX_TRACKS;
    for (size_t t = 0; t < out->ntracks; t++) {
        const char *stage = policy_eval_stage_id(p, ps, t);
        snprintf(out->t[t].track, sizeof out->t[t].track, "%s", p->tracks[t].id);
        snprintf(out->t[t].stage, sizeof out->t[t].stage, "%s", stage[0] ? stage : "none");
        out->t[t].review = ps->tracks[t].stage > 0 ? date_to_number(ps->tracks[t].review_date) : 0;
    }
}

/* "1 <year> <flags> <possible> <attended> <authorised> <unauthorised> <pa>
 * <sa> <pct10> <band|-> <ntracks>" then " <track> <stage> <review>" each. */
void agg_contrib_format(const agg_contrib_t *c, char out[AGG_TEXT_MAX])
{
    int n =
        snprintf(out, AGG_TEXT_MAX,
                 "1 %d %u %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %d %d %" PRId32 " %s %zu",
                 c->year, c->flags, c->possible, c->attended, c->authorised, c->unauthorised, c->pa,
                 c->sa, c->pct10, c->band[0] ? c->band : "-", c->ntracks);
    for (size_t t = 0; t < c->ntracks && n > 0 && n < AGG_TEXT_MAX; t++)
        n += snprintf(out + n, (size_t)(AGG_TEXT_MAX - n), " %s %s %" PRId32, c->t[t].track,
                      c->t[t].stage, c->t[t].review);
}

rc_err_t agg_contrib_parse(const char *text, size_t len, agg_contrib_t *c)
{
    char buf[AGG_TEXT_MAX], band[POLICY_NAME_MAX + 1];
    memset(c, 0, sizeof *c);
    if (len >= sizeof buf)
        return RC_EPARSE;
    memcpy(buf, text, len);
    buf[len] = '\0';
    int at = 0;
    if (sscanf(buf,
               "1 %d %u %" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32 " %d %d %" SCNd32
               " %32s %zu%n",
               &c->year, &c->flags, &c->possible, &c->attended, &c->authorised, &c->unauthorised,
               &c->pa, &c->sa, &c->pct10, band, &c->ntracks, &at) != 11 ||
        c->ntracks > POLICY_MAX_TRACKS)
        goto bad;
    if (strcmp(band, "-") != 0)
        snprintf(c->band, sizeof c->band, "%s", band);
    for (size_t t = 0; t < c->ntracks; t++) {
        int used = 0;
        if (sscanf(buf + at, " %32s %32s %" SCNd32 "%n", c->t[t].track, c->t[t].stage,
                   &c->t[t].review, &used) != 3)
            goto bad;
        at += used;
    }
    if (buf[at] != '\0')
        goto bad;
    c->counted = 1;
    return RC_OK;
bad:
    memset(c, 0, sizeof *c);
    return RC_EPARSE;
}

void agg_policy_order(const policy_t *p, char bands[AGG_ORDER_MAX], char stages[AGG_ORDER_MAX])
{
    size_t n = 0;
    bands[0] = stages[0] = '\0';
    for (size_t i = 0; i < p->nbands && n < AGG_ORDER_MAX; i++)
        n += (size_t)snprintf(bands + n, AGG_ORDER_MAX - n, "%s%s", i ? "," : "", p->bands[i].name);
    n = 0;
    for (size_t t = 0; t < p->ntracks && n < AGG_ORDER_MAX; t++) {
        const policy_track_t *tr = &p->tracks[t];
        n += (size_t)snprintf(stages + n, AGG_ORDER_MAX - n, "%s%s=", t ? " " : "", tr->id);
        for (size_t k = 0; k < tr->nstages && n < AGG_ORDER_MAX; k++)
            n += (size_t)snprintf(stages + n, AGG_ORDER_MAX - n, "%s%s", k ? "," : "",
                                  tr->stages[k].id);
    }
}

/* ---- the delta table ---- */

typedef struct {
    char field[FIELD_MAX];
    int wk; /* 1: rs:wk, 0: rs:agg */
    int64_t d;
} delta_t;

struct agg_delta {
    delta_t *v;
    size_t n, cap;
};

agg_delta_t *agg_delta_new(void)
{
    return calloc(1, sizeof(agg_delta_t));
}

void agg_delta_destroy(agg_delta_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->v);
    free(*self_p);
    *self_p = NULL;
}

void agg_delta_clear(agg_delta_t *self)
{
    self->n = 0;
}

static rc_err_t add(agg_delta_t *self, int wk, const char *field, int64_t d)
{
    if (!d)
        return RC_OK;
    for (size_t i = 0; i < self->n; i++)
        if (self->v[i].wk == wk && strcmp(self->v[i].field, field) == 0) {
            self->v[i].d += d;
            return RC_OK;
        }
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        delta_t *v = realloc(self->v, cap * sizeof *v);
        if (!v)
            return RC_ENOMEM;
        self->v = v;
        self->cap = cap;
    }
    delta_t *e = &self->v[self->n++];
    snprintf(e->field, sizeof e->field, "%s", field);
    e->wk = wk;
    e->d = d;
    return RC_OK;
}

/* add_group adds c's measures to the fields of one group. */
static rc_err_t add_group(agg_delta_t *self, const char *group, const agg_contrib_t *c, int sign)
{
    const struct {
        const char *measure;
        int64_t v;
    } m[] = {{"pupils", 1},
             {"possible", c->possible},
             {"attended", c->attended},
             {"authorised", c->authorised},
             {"unauthorised", c->unauthorised},
             {"pa", c->pa},
             {"sa", c->sa}};
    char field[FIELD_MAX];
    rc_err_t err = RC_OK;
    for (size_t i = 0; i < sizeof m / sizeof m[0] && err == RC_OK; i++) {
        snprintf(field, sizeof field, "%s:%s", group, m[i].measure);
        err = add(self, 0, field, sign * m[i].v);
    }
    return err;
}

rc_err_t agg_delta_contrib(agg_delta_t *self, const agg_contrib_t *c, int sign)
{
    char field[FIELD_MAX];
    if (!c->counted)
        return RC_OK;
    rc_err_t err = add_group(self, "all", c, sign);
    if (err == RC_OK && c->year != AGG_NO_YEAR) {
        snprintf(field, sizeof field, "y%d", c->year);
        err = add_group(self, field, c, sign);
    }
    for (size_t i = 0; i < NCOHORTS && err == RC_OK; i++)
        if (c->flags & cohorts[i].flag)
            err = add_group(self, cohorts[i].name, c, sign);
    if (err == RC_OK && c->band[0]) {
        snprintf(field, sizeof field, "band:%s", c->band);
        err = add(self, 0, field, sign);
    }
    for (size_t t = 0; t < c->ntracks && err == RC_OK; t++) {
        snprintf(field, sizeof field, "stage:%s:%s", c->t[t].track, c->t[t].stage);
        err = add(self, 0, field, sign);
    }
    return err;
}

rc_err_t agg_delta_mark(agg_delta_t *self, rc_date_t date, int have_before, att_code_t before,
                        int have_after, att_code_t after)
{
    char monday[RC_DATE_STRLEN], field[FIELD_MAX];
    int possible =
        (have_after && code_is_possible(after)) - (have_before && code_is_possible(before));
    int attended =
        (have_after && code_is_attended(after)) - (have_before && code_is_attended(before));
    date_format(date_monday(date), monday);
    snprintf(field, sizeof field, "%s:possible", monday);
    rc_err_t err = add(self, 1, field, possible);
    snprintf(field, sizeof field, "%s:attended", monday);
    return err == RC_OK ? add(self, 1, field, attended) : err;
}

int agg_delta_flush(agg_delta_t *self, redisContext *wr, const char *urn)
{
    int n = 0;
    for (size_t i = 0; i < self->n; i++) {
        const delta_t *e = &self->v[i];
        if (!e->d)
            continue;
        redisAppendCommand(wr, "HINCRBY rs:%s:{%s} %s %" PRId64, e->wk ? "wk" : "agg", urn,
                           e->field, e->d);
        n++;
    }
    self->n = 0;
    return n;
}

/* ---- indexes ---- */

/* set_move appends SREM from the old set and SADD to the new one, when they
 * differ; "" names no set. */
static int set_move(redisContext *wr, const char *urn, const char *upn, const char *before,
                    const char *after)
{
    if (strcmp(before, after) == 0)
        return 0;
    int n = 0;
    if (before[0]) {
        redisAppendCommand(wr, "SREM rs:ix:{%s}:%s %s", urn, before, upn);
        n++;
    }
    if (after[0]) {
        redisAppendCommand(wr, "SADD rs:ix:{%s}:%s %s", urn, after, upn);
        n++;
    }
    return n;
}

/* set_name writes "<prefix><value>" into out when on, "" otherwise. */
static const char *set_name(char out[FIELD_MAX], int on, const char *prefix, const char *value)
{
    if (on)
        snprintf(out, FIELD_MAX, "%s%s", prefix, value);
    else
        out[0] = '\0';
    return out;
}

static int review_queue(redisContext *wr, const char *urn, const char *upn,
                        const agg_contrib_t *before, const agg_contrib_t *after)
{
    int n = 0;
    for (size_t t = 0; t < before->ntracks; t++) { /* tracks gone, or with no review now */
        int kept = 0;
        for (size_t k = 0; k < after->ntracks && !kept; k++)
            kept = after->t[k].review && strcmp(after->t[k].track, before->t[t].track) == 0;
        if (before->t[t].review && !kept) {
            redisAppendCommand(wr, "ZREM rs:ix:{%s}:review %s|%s", urn, upn, before->t[t].track);
            n++;
        }
    }
    for (size_t t = 0; t < after->ntracks; t++) {
        int same = 0;
        for (size_t k = 0; k < before->ntracks && !same; k++)
            same = strcmp(after->t[t].track, before->t[k].track) == 0 &&
                   after->t[t].review == before->t[k].review;
        if (after->t[t].review && !same) {
            redisAppendCommand(wr, "ZADD rs:ix:{%s}:review %" PRId32 " %s|%s", urn,
                               after->t[t].review, upn, after->t[t].track);
            n++;
        }
    }
    return n;
}

int agg_index_queue(redisContext *wr, const char *urn, const char *upn, const agg_contrib_t *before,
                    const agg_contrib_t *after)
{
    char a[FIELD_MAX], b[FIELD_MAX], y[16];
    int n = 0;
    const agg_contrib_t *was = before, *now = after;
    if (!now->counted)
        return 0;
    if (!was->counted || was->pct10 != now->pct10) {
        redisAppendCommand(wr, "ZADD rs:ix:{%s}:att %.1f %s", urn,
                           now->pct10 < 0 ? -1.0 : now->pct10 / 10.0, upn);
        n++;
    }
    snprintf(y, sizeof y, "%d", was->year);
    set_name(b, was->counted && was->year != AGG_NO_YEAR, "year:", y);
    snprintf(y, sizeof y, "%d", now->year);
    n += set_move(wr, urn, upn, b, set_name(a, now->year != AGG_NO_YEAR, "year:", y));
    for (size_t i = 0; i < NCOHORTS; i++)
        n += set_move(
            wr, urn, upn,
            set_name(b, was->counted && (was->flags & cohorts[i].flag), "cohort:", cohorts[i].name),
            set_name(a, (now->flags & cohorts[i].flag) != 0, "cohort:", cohorts[i].name));
    n += set_move(wr, urn, upn, set_name(b, was->counted && was->band[0], "band:", was->band),
                  set_name(a, now->band[0] != '\0', "band:", now->band));
    n += set_move(wr, urn, upn, set_name(b, was->counted && was->pa, "pa", ""),
                  set_name(a, now->pa, "pa", ""));
    n += set_move(wr, urn, upn, set_name(b, was->counted && was->sa, "sa", ""),
                  set_name(a, now->sa, "sa", ""));
    /* Stages: each (track, stage) of before and after, "none" in no set. */
    for (size_t t = 0; t < was->ntracks; t++) {
        char v[2 * FIELD_MAX];
        snprintf(v, sizeof v, "%s:%s", was->t[t].track, was->t[t].stage);
        int kept = 0;
        for (size_t k = 0; k < now->ntracks && !kept; k++)
            kept = strcmp(now->t[k].track, was->t[t].track) == 0 &&
                   strcmp(now->t[k].stage, was->t[t].stage) == 0;
        if (!kept && strcmp(was->t[t].stage, "none") != 0) {
            redisAppendCommand(wr, "SREM rs:ix:{%s}:stage:%s %s", urn, v, upn);
            n++;
        }
    }
    for (size_t t = 0; t < now->ntracks; t++) {
        int same = 0;
        for (size_t k = 0; k < was->ntracks && !same; k++)
            same = strcmp(now->t[t].track, was->t[k].track) == 0 &&
                   strcmp(now->t[t].stage, was->t[k].stage) == 0;
        if (!same && strcmp(now->t[t].stage, "none") != 0) {
            redisAppendCommand(wr, "SADD rs:ix:{%s}:stage:%s:%s %s", urn, now->t[t].track,
                               now->t[t].stage, upn);
            n++;
        }
    }
    return n + review_queue(wr, urn, upn, was, now);
}
