/* reports_summary.c - summaries from the counters rules keeps: each school's
 * rs:agg and rs:wk hashes become a JSON map of counters, summed over a
 * trust's or LA's schools, then rendered as measures and breakdowns. */
#include "reports/reports_summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports_util.h"
#include "rollcall/ids.h"

#define SCHOOL_CMDS 4 /* commands appended per school */
#define YEAR_MIN    (-2)
#define YEAR_MAX    14

static const char *const cohorts[] = {"sen", "fsm", "eal", "cla", "social_worker"};
#define N_COHORTS (sizeof cohorts / sizeof cohorts[0])

/* One school's replies, in the order school_append sends them. */
enum { R_AGG, R_WK, R_STATE, R_REF };

static void school_append(redisContext *rd, const char *urn)
{
    redisAppendCommand(rd, "HGETALL rs:agg:{%s}", urn);
    redisAppendCommand(rd, "HGETALL rs:wk:{%s}", urn);
    redisAppendCommand(rd, "HMGET rs:school:{%s} today target_pct band_order stage_order", urn);
    redisAppendCommand(rd, "HMGET rc:school:{%s} name la_code trust_id", urn);
}

/* measures renders group's counters (fields <group>:<measure>) into o. */
static void measures(json_t *o, const json_t *c, const char *group)
{
    static const struct {
        const char *field, *json;
    } m[] = {{"pupils", "pupils"},
             {"possible", "possible_sessions"},
             {"attended", "attended_sessions"},
             {"authorised", "authorised_absences"},
             {"unauthorised", "unauthorised_absences"},
             {"pa", "persistent_absentees"},
             {"sa", "severe_absentees"}};
    char name[64];
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        snprintf(name, sizeof name, "%s:%s", group, m[i].field);
        json_object_set_new(o, m[i].json, json_integer(reports_count(c, name)));
    }
    snprintf(name, sizeof name, "%s:possible", group);
    json_int_t possible = reports_count(c, name);
    snprintf(name, sizeof name, "%s:attended", group);
    json_object_set_new(o, "attendance_pct", reports_pct(reports_count(c, name), possible));
}

static json_t *measures_new(const json_t *c, const char *group)
{
    json_t *o = json_object();
    if (o)
        measures(o, c, group);
    return o;
}

static int by_band_name(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "band")),
                  json_string_value(json_object_get(*(json_t *const *)b, "band")));
}

/* bands lists band:<name> counters as [{"band", "pupils"}]: the policy's
 * bands in its order (order, comma-separated; every one, 0 when empty), then
 * any others by name. */
static json_t *bands(const json_t *c, const char *order)
{
    json_t *a = json_array(), *v, *list[64];
    const char *k;
    size_t n = 0;
    char name[80];
    for (const char *p = order; a && p && *p;) {
        size_t len = strcspn(p, ",");
        snprintf(name, sizeof name, "band:%.*s", (int)len, p);
        json_array_append_new(
            a, json_pack("{s:s,s:I}", "band", name + 5, "pupils", reports_count(c, name)));
        p += len + (p[len] == ',');
    }
    json_object_foreach((json_t *)c, k, v)
    {
        if (strncmp(k, "band:", 5) == 0 && k[5] &&
            !(order && reports_in_list(order, k + 5, strlen(k + 5))) &&
            n < sizeof list / sizeof list[0])
            list[n++] = json_pack("{s:s,s:I}", "band", k + 5, "pupils", json_integer_value(v));
    }
    qsort(list, n, sizeof list[0], by_band_name);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, list[i]);
    return a;
}

/* stage_order_json lays out order ("absence=stage_1,stage_2 lateness=...")
 * as {track: {stage: n, ..., "none": n}} with the counts of c, 0 when none. */
static void stage_order_json(json_t *o, const json_t *c, const char *order)
{
    char track[80], key[200];
    for (const char *p = order; p && *p;) {
        size_t tl = strcspn(p, "= ");
        if (p[tl] != '=')
            break;
        snprintf(track, sizeof track, "%.*s", (int)tl, p);
        json_t *t = json_object();
        json_object_set_new(o, track, t);
        for (p += tl + 1; *p && *p != ' ';) {
            size_t sl = strcspn(p, ", ");
            snprintf(key, sizeof key, "stage:%s:%.*s", track, (int)sl, p);
            json_object_set_new(t, key + 7 + strlen(track), json_integer(reports_count(c, key)));
            p += sl + (p[sl] == ',');
        }
        snprintf(key, sizeof key, "stage:%s:none", track);
        json_object_set_new(t, "none", json_integer(reports_count(c, key)));
        p += *p == ' ';
    }
}

/* stages groups stage:<track>:<stage> counters as {track: {stage: n}}: the
 * policy's tracks and stages in ladder order (order, from rules; NULL for a
 * total over schools), then whatever else the counters hold. */
static json_t *stages(const json_t *c, const char *order)
{
    json_t *o = json_object(), *v;
    const char *k;
    if (o)
        stage_order_json(o, c, order);
    json_object_foreach((json_t *)c, k, v)
    {
        const char *colon = strncmp(k, "stage:", 6) == 0 ? strchr(k + 6, ':') : NULL;
        if (!colon || colon == k + 6 || !colon[1])
            continue;
        char track[128];
        snprintf(track, sizeof track, "%.*s", (int)(colon - (k + 6)), k + 6);
        json_t *t = json_object_get(o, track);
        if (!t)
            json_object_set_new(o, track, t = json_object());
        json_object_set_new(t, colon + 1, json_integer(json_integer_value(v)));
    }
    return o;
}

static int by_week(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* weekly lists rs:wk counters (<monday>:possible, <monday>:attended) by week. */
static json_t *weekly(const json_t *wk)
{
    json_t *a = json_array(), *v;
    const char *k, **weeks = malloc((json_object_size(wk) + 1) * sizeof *weeks);
    size_t n = 0;
    if (!a || !weeks) {
        free(weeks);
        json_decref(a);
        return NULL;
    }
    json_object_foreach((json_t *)wk, k, v)
    {
        if (strlen(k) == 19 && strcmp(k + 10, ":possible") == 0)
            weeks[n++] = k;
    }
    qsort(weeks, n, sizeof *weeks, by_week);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "%.10s:attended", weeks[i]);
        json_int_t possible = reports_count(wk, weeks[i]), attended = reports_count(wk, name);
        json_array_append_new(a, json_pack("{s:s%,s:I,s:I,s:o}", "week", weeks[i], (size_t)10,
                                           "possible_sessions", possible, "attended_sessions",
                                           attended, "attendance_pct",
                                           reports_pct(attended, possible)));
    }
    free(weeks);
    return a;
}

/* breakdowns sets the measures of group all at the top of o, then
 * by_year_group, by_cohort (and each cohort at the top), bands, stages. */
static void breakdowns(json_t *o, const json_t *c, const char *band_order, const char *stage_order)
{
    json_t *years = json_object(), *by_cohort = json_object();
    char group[16], key[8];
    measures(o, c, "all");
    for (int y = YEAR_MIN; y <= YEAR_MAX; y++) {
        snprintf(group, sizeof group, "y%d:pupils", y);
        if (reports_count(c, group) <= 0)
            continue;
        snprintf(group, sizeof group, "y%d", y);
        snprintf(key, sizeof key, "%d", y);
        json_object_set_new(years, key, measures_new(c, group));
    }
    for (size_t i = 0; i < N_COHORTS; i++) {
        json_object_set_new(by_cohort, cohorts[i], measures_new(c, cohorts[i]));
        json_object_set_new(o, cohorts[i], measures_new(c, cohorts[i]));
    }
    json_object_set_new(o, "by_year_group", years);
    json_object_set_new(o, "by_cohort", by_cohort);
    json_object_set_new(o, "bands", bands(c, band_order));
    json_object_set_new(o, "stages", stages(c, stage_order));
}

/* school_json renders one school's replies r[0..SCHOOL_CMDS), adding its
 * counters into total and wk_total when they are not NULL. */
static rc_err_t school_json(const char *urn, redisReply **r, int with_weekly, json_t *total,
                            json_t *wk_total, json_t **out)
{
    json_t *c = json_object(), *wk = json_object(), *o = NULL;
    rc_err_t rc = RC_ENOMEM;
    const char *target = reports_str(r[R_STATE]->element[1]);
    if (!c || !wk || reports_counts_add(c, r[R_AGG]) || reports_counts_add(wk, r[R_WK]))
        goto out;
    if (!(o = json_pack("{s:s}", "urn", urn)))
        goto out;
    reports_set_str(o, "name", r[R_REF]->element[0]);
    reports_set_str(o, "la_code", r[R_REF]->element[1]);
    reports_set_str(o, "trust_id", r[R_REF]->element[2]);
    reports_set_str(o, "as_of", r[R_STATE]->element[0]);
    json_object_set_new(o, "target_pct",
                        target && target[0] ? json_real(strtod(target, NULL)) : json_null());
    breakdowns(o, c, reports_str(r[R_STATE]->element[2]), reports_str(r[R_STATE]->element[3]));
    if (with_weekly)
        json_object_set_new(o, "weekly", weekly(wk));
    if ((total && reports_counts_merge(total, c)) ||
        (wk_total && reports_counts_merge(wk_total, wk)))
        goto out;
    *out = o;
    o = NULL;
    rc = RC_OK;
out:
    json_decref(o);
    json_decref(wk);
    json_decref(c);
    return rc;
}

/* replies_ok checks the shapes school_json relies on. */
static int replies_ok(redisReply **r)
{
    return r[R_AGG]->type == REDIS_REPLY_ARRAY && r[R_WK]->type == REDIS_REPLY_ARRAY &&
           r[R_STATE]->type == REDIS_REPLY_ARRAY && r[R_STATE]->elements == 4 &&
           r[R_REF]->type == REDIS_REPLY_ARRAY && r[R_REF]->elements == 3;
}

rc_err_t reports_school_summary(redisContext *rd, const char *urn, json_t **out)
{
    redisReply *r[SCHOOL_CMDS];
    *out = NULL;
    school_append(rd, urn);
    if (reports_replies(rd, r, SCHOOL_CMDS) != RC_OK)
        return RC_EIO;
    rc_err_t rc = replies_ok(r) ? school_json(urn, r, 1, NULL, NULL, out) : RC_EIO;
    reports_free_replies(r, SCHOOL_CMDS);
    return rc;
}

static int by_urn(const void *a, const void *b)
{
    return strcmp((*(redisReply *const *)a)->str, (*(redisReply *const *)b)->str);
}

/* group_schools renders each school of the members reply m into schools,
 * summing into total and wk; one pipelined round trip. */
static rc_err_t group_schools(redisContext *rd, const redisReply *m, json_t *schools, json_t *total,
                              json_t *wk)
{
    size_t n = m->elements;
    redisReply **r = calloc(n * SCHOOL_CMDS + 1, sizeof *r);
    rc_err_t rc = RC_ENOMEM;
    if (!r)
        return RC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        school_append(rd, m->element[i]->str);
    if ((rc = reports_replies(rd, r, n * SCHOOL_CMDS)) != RC_OK)
        goto out;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        json_t *s = NULL;
        rc = replies_ok(r + i * SCHOOL_CMDS)
                 ? school_json(m->element[i]->str, r + i * SCHOOL_CMDS, 0, total, wk, &s)
                 : RC_EIO;
        if (rc == RC_OK && json_array_append_new(schools, s))
            rc = RC_ENOMEM;
    }
    reports_free_replies(r, n * SCHOOL_CMDS);
out:
    free(r);
    return rc;
}

rc_err_t reports_group_summary(redisContext *rd, const char *kind, const char *id,
                               const char *id_field, json_t **out)
{
    redisReply *m = redisCommand(rd, "SMEMBERS rc:%s:%s", kind, id);
    json_t *o = NULL, *schools = json_array(), *total = json_object(), *wk = json_object(), *t;
    rc_err_t rc = RC_EIO;
    *out = NULL;
    if (!m || m->type != REDIS_REPLY_ARRAY)
        goto out;
    rc = RC_ENOTFOUND;
    if (m->elements == 0)
        goto out;
    for (size_t i = 0; i < m->elements; i++)
        if (m->element[i]->type != REDIS_REPLY_STRING)
            goto out;
    qsort(m->element, m->elements, sizeof *m->element, by_urn);
    rc = RC_ENOMEM;
    if (!schools || !total || !wk || !(o = json_pack("{s:s}", id_field, id)))
        goto out;
    if ((rc = group_schools(rd, m, schools, total, wk)) != RC_OK)
        goto out;
    rc = RC_ENOMEM;
    if (!(t = json_object()) || json_object_set_new(o, "total", t))
        goto out;
    breakdowns(t, total, NULL, NULL);
    json_object_set_new(t, "school_count", json_integer((json_int_t)m->elements));
    json_object_set_new(t, "weekly", weekly(wk));
    json_object_set(o, "schools", schools);
    *out = o;
    o = NULL;
    rc = RC_OK;
out:
    json_decref(o);
    json_decref(wk);
    json_decref(total);
    json_decref(schools);
    freeReplyObject(m);
    return rc;
}
