/* policy_state.c - a pupil's policy state and case facts as stored text. */
#include "rollcall/policy_state.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

static const char *fmt_date(rc_date_t d, char buf[RC_DATE_STRLEN])
{
    if (d == RC_DATE_NONE)
        return "-";
    return date_format(d, buf);
}

/* put appends to out[*used..POLICY_STATE_MAX), never past its end. */
static void put(char *out, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put(char *out, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *used, POLICY_STATE_MAX - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t)n < POLICY_STATE_MAX ? *used + (size_t)n : POLICY_STATE_MAX - 1;
}

static void put_run(char *out, size_t *used, const char *key, const eval_run_t *r)
{
    char a[RC_DATE_STRLEN], b[RC_DATE_STRLEN];
    put(out, used, " %s=%s,%s,%" PRIu32, key, fmt_date(r->first, a), fmt_date(r->last, b),
        r->raised);
}

void policy_state_format(const policy_t *p, const pupil_policy_state_t *s,
                         char out[POLICY_STATE_MAX])
{
    char a[RC_DATE_STRLEN], b[RC_DATE_STRLEN], c[RC_DATE_STRLEN];
    size_t used = 0;
    out[0] = '\0';
    put(out, &used, "v1 fd=%s sw=%s", fmt_date(s->first_day_sent, a),
        fmt_date(s->social_worker_sent, b));
    put_run(out, &used, "un", &s->unexplained);
    put_run(out, &used, "de", &s->deletion);
    put(out, &used, " nu=%s pa=%d sy=%d iy=%d", fmt_date(s->n_unresolved_through, a),
        s->penalty_active ? 1 : 0, s->severe_year, s->illness_year);
    for (size_t t = 0; t < p->ntracks && t < POLICY_MAX_TRACKS; t++) {
        const eval_track_state_t *ts = &s->tracks[t];
        if (ts->stage == 0 && ts->entry_date == RC_DATE_NONE)
            continue;
        const char *stage = policy_eval_stage_id(p, s, t);
        put(out, &used, " t=%s,%s,%s,%s,%s,%" PRIu32 ",%" PRIu32 ",%" PRIu32, p->tracks[t].id,
            stage[0] ? stage : "-", fmt_date(ts->entry_date, a), fmt_date(ts->monitor_from, b),
            fmt_date(ts->review_date, c), ts->base_attended, ts->base_possible, ts->absence_days);
    }
}

void policy_fact_format(const eval_fact_t *f, char out[POLICY_FACT_MAX])
{
    char d[RC_DATE_STRLEN];
    snprintf(out, POLICY_FACT_MAX, "%s %s%s%s", fact_kind_name(f->kind), date_format(f->date, d),
             f->detail[0] ? " " : "", f->detail);
}

/* ---- reading ---- */

/* Comma-separated fields of one value, split in place. Empty fields are
 * kept (and then refused by their parser): strtok would merge ",," and shift
 * the fields after it into the wrong places. */
#define MAX_PARTS 8

static size_t split(char *v, char *parts[MAX_PARTS])
{
    size_t n = 0;
    for (;;) {
        if (n == MAX_PARTS)
            return MAX_PARTS + 1;
        parts[n++] = v;
        char *comma = strchr(v, ',');
        if (!comma)
            return n;
        *comma = '\0';
        v = comma + 1;
    }
}

static int parse_date(const char *s, rc_date_t *out)
{
    if (strcmp(s, "-") == 0) {
        *out = RC_DATE_NONE;
        return 1;
    }
    return date_parse(s, strlen(s), out) == RC_OK;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > UINT32_MAX)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static int parse_int(const char *s, int *out)
{
    uint32_t v;
    if (!parse_u32(s, &v) || v > 1000000)
        return 0;
    *out = (int)v;
    return 1;
}

static int parse_run(char *v, eval_run_t *r)
{
    char *f[MAX_PARTS];
    return split(v, f) == 3 && parse_date(f[0], &r->first) && parse_date(f[1], &r->last) &&
           parse_u32(f[2], &r->raised);
}

/* parse_track reads "t=" fields; a track or stage the policy no longer has
 * is counted in *dropped and leaves the track as "none". */
static int parse_track(const policy_t *p, char *v, pupil_policy_state_t *s, unsigned *dropped)
{
    char *f[MAX_PARTS];
    eval_track_state_t ts;
    if (split(v, f) != 8 || !*f[0] || !*f[1] || !parse_date(f[2], &ts.entry_date) ||
        !parse_date(f[3], &ts.monitor_from) || !parse_date(f[4], &ts.review_date) ||
        !parse_u32(f[5], &ts.base_attended) || !parse_u32(f[6], &ts.base_possible) ||
        !parse_u32(f[7], &ts.absence_days))
        return 0;
    const policy_track_t *track = NULL;
    for (size_t t = 0; t < p->ntracks && !track; t++)
        if (strcmp(p->tracks[t].id, f[0]) == 0)
            track = &p->tracks[t];
    if (!track) {
        (*dropped)++;
        return 1;
    }
    ts.stage = 0;
    if (strcmp(f[1], "-") != 0) {
        for (size_t k = 0; k < track->nstages; k++)
            if (strcmp(track->stages[k].id, f[1]) == 0)
                ts.stage = (int)k + 1;
        if (ts.stage == 0) {
            (*dropped)++;
            ts.review_date = RC_DATE_NONE;
        }
    }
    /* No stage and never entered is "never on it", which format writes no
     * line for: keep nothing else of it, or the state would not read back. */
    if (ts.stage == 0 && ts.entry_date == RC_DATE_NONE)
        ts = (eval_track_state_t){
            .entry_date = RC_DATE_NONE, .monitor_from = RC_DATE_NONE, .review_date = RC_DATE_NONE};
    s->tracks[track - p->tracks] = ts;
    return 1;
}

static int parse_field(const policy_t *p, char *tok, pupil_policy_state_t *s, unsigned *dropped)
{
    char *eq = strchr(tok, '=');
    if (!eq)
        return 0;
    *eq = '\0';
    char *v = eq + 1;
    if (strcmp(tok, "fd") == 0)
        return parse_date(v, &s->first_day_sent);
    if (strcmp(tok, "sw") == 0)
        return parse_date(v, &s->social_worker_sent);
    if (strcmp(tok, "un") == 0)
        return parse_run(v, &s->unexplained);
    if (strcmp(tok, "de") == 0)
        return parse_run(v, &s->deletion);
    if (strcmp(tok, "nu") == 0)
        return parse_date(v, &s->n_unresolved_through);
    if (strcmp(tok, "pa") == 0)
        return parse_int(v, &s->penalty_active) && s->penalty_active <= 1;
    if (strcmp(tok, "sy") == 0)
        return parse_int(v, &s->severe_year);
    if (strcmp(tok, "iy") == 0)
        return parse_int(v, &s->illness_year);
    if (strcmp(tok, "t") == 0)
        return parse_track(p, v, s, dropped);
    return 0;
}

rc_err_t policy_state_parse(const policy_t *p, const char *text, size_t len,
                            pupil_policy_state_t *s, unsigned *dropped)
{
    char buf[POLICY_STATE_MAX];
    unsigned lost = 0;
    pupil_policy_state_init(s);
    if (len >= sizeof buf || memchr(text, '\0', len))
        return RC_EPARSE;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *save = NULL, *tok = strtok_r(buf, " ", &save);
    if (!tok || strcmp(tok, "v1") != 0)
        return RC_EPARSE;
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        if (!parse_field(p, tok, s, &lost)) {
            pupil_policy_state_init(s);
            return RC_EPARSE;
        }
    }
    if (dropped)
        *dropped = lost;
    return RC_OK;
}

rc_err_t policy_fact_parse(const char *text, size_t len, eval_fact_t *f)
{
    char buf[POLICY_FACT_MAX];
    if (len >= sizeof buf || memchr(text, '\0', len))
        return RC_EPARSE;
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(f, 0, sizeof *f);
    char *save = NULL, *kind = strtok_r(buf, " ", &save), *date = strtok_r(NULL, " ", &save);
    char *detail = strtok_r(NULL, " ", &save);
    if (!kind || !date || strtok_r(NULL, " ", &save) ||
        fact_kind_parse(kind, strlen(kind), &f->kind) != RC_OK ||
        date_parse(date, strlen(date), &f->date) != RC_OK)
        return RC_EPARSE;
    if (detail) {
        if (strlen(detail) >= sizeof f->detail)
            return RC_EPARSE;
        memcpy(f->detail, detail, strlen(detail) + 1);
    }
    return RC_OK;
}
