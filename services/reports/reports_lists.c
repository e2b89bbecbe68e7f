/* reports_lists.c - the pupil list and the reviews list: an index read in
 * one command, ordered and cut to the page here, then the page's rows in
 * one pipelined round trip. */
#include "reports/reports_lists.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports_util.h"

#define MAX_FILTERS 6

rc_err_t reports_page(json_t **rows, const reports_query_t *q, size_t *total)
{
    size_t n = json_array_size(*rows);
    json_t *page = json_array();
    *total = n;
    if (!page)
        return RC_ENOMEM;
    for (size_t i = q->offset; i < n && i - q->offset < q->limit; i++)
        if (json_array_append(page, json_array_get(*rows, i)))
            return json_decref(page), RC_ENOMEM;
    json_decref(*rows);
    *rows = page;
    return RC_OK;
}

/* ---- pupils ---- */

/* One member of the attendance index. */
typedef struct {
    const char *upn;
    double score; /* attendance %, -1 when none */
} member_t;

/* Worst attendance first, pupils without a percentage last, then by UPN. */
static int by_attendance(const void *pa, const void *pb)
{
    const member_t *a = pa, *b = pb;
    if ((a->score < 0) != (b->score < 0))
        return a->score < 0 ? 1 : -1;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return strcmp(a->upn, b->upn);
}

/* stage_is_none is true when q asks for the pupils on no stage of a track. */
static int stage_is_none(const reports_query_t *q)
{
    size_t l = strlen(q->stage);
    return l > 5 && strcmp(q->stage + l - 5, ":none") == 0;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A set of UPNs read from Redis, sorted for bsearch. */
typedef struct {
    redisReply *r;     /* owns the strings */
    const char **upns; /* sorted */
    size_t n;
} upn_set_t;

static void upn_set_free(upn_set_t *s)
{
    freeReplyObject(s->r);
    free(s->upns);
    memset(s, 0, sizeof *s);
}

static int upn_set_has(const upn_set_t *s, const char *upn)
{
    return s->n && bsearch(&upn, s->upns, s->n, sizeof *s->upns, by_str) != NULL;
}

/* union_of reads SUNION of keys[0..n) into *out. */
static rc_err_t union_of(redisContext *rd, char **keys, size_t n, upn_set_t *out)
{
    const char **argv = calloc(n + 2, sizeof *argv);
    if (!argv)
        return RC_ENOMEM;
    argv[0] = "SUNION";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = keys[i];
    out->r = redisCommandArgv(rd, (int)n + 1, argv, NULL);
    free(argv);
    if (!out->r || out->r->type != REDIS_REPLY_ARRAY)
        return RC_EIO;
    if (!(out->upns = calloc(out->r->elements + 1, sizeof *out->upns)))
        return RC_ENOMEM;
    for (size_t i = 0; i < out->r->elements; i++)
        if (reports_str(out->r->element[i]))
            out->upns[out->n++] = out->r->element[i]->str;
    qsort(out->upns, out->n, sizeof *out->upns, by_str);
    return RC_OK;
}

/* on_some_stage reads, for stage=<track>:none, the pupils on any stage of
 * the track (pupils on none are not indexed): the track's stages in use
 * from the school's totals, then the union of their sets, into *out (left
 * empty when the track has no stage in use). */
static rc_err_t on_some_stage(redisContext *rd, const char *urn, const reports_query_t *q,
                              upn_set_t *out)
{
    char prefix[2 * REPORTS_NAME_MAX + 16];
    redisReply *f = redisCommand(rd, "HKEYS rs:agg:{%s}", urn);
    char **keys = NULL;
    size_t n = 0;
    rc_err_t rc = RC_EIO;
    memset(out, 0, sizeof *out);
    /* "stage:<track>:" from "<track>:none" */
    snprintf(prefix, sizeof prefix, "stage:%.*s", (int)(strlen(q->stage) - 4), q->stage);
    if (!f || f->type != REDIS_REPLY_ARRAY)
        goto done;
    rc = RC_ENOMEM;
    if (!(keys = calloc(f->elements + 1, sizeof *keys)))
        goto done;
    for (size_t i = 0; i < f->elements; i++) {
        const char *k = reports_str(f->element[i]);
        if (!k || strncmp(k, prefix, strlen(prefix)) != 0 ||
            strcmp(k + strlen(prefix), "none") == 0)
            continue;
        size_t len = strlen(urn) + strlen(k) + 16;
        if (!(keys[n] = malloc(len)))
            goto done;
        snprintf(keys[n++], len, "rs:ix:{%s}:%s", urn, k);
    }
    rc = n ? union_of(rd, keys, n, out) : RC_OK;
done:
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    freeReplyObject(f);
    return rc;
}

/* filter_keys writes the index keys q's filters name into keys[]; returns
 * how many. */
static size_t filter_keys(const char *urn, const reports_query_t *q,
                          char keys[MAX_FILTERS][2 * REPORTS_NAME_MAX + 48])
{
    size_t n = 0, cap = sizeof keys[0];
    if (q->stage[0] && !stage_is_none(q))
        snprintf(keys[n++], cap, "rs:ix:{%s}:stage:%s", urn, q->stage);
    if (q->band[0])
        snprintf(keys[n++], cap, "rs:ix:{%s}:band:%s", urn, q->band);
    if (q->cohort[0])
        snprintf(keys[n++], cap, "rs:ix:{%s}:cohort:%s", urn, q->cohort);
    if (q->pa)
        snprintf(keys[n++], cap, "rs:ix:{%s}:pa", urn);
    if (q->sa)
        snprintf(keys[n++], cap, "rs:ix:{%s}:sa", urn);
    if (q->has_year)
        snprintf(keys[n++], cap, "rs:ix:{%s}:year:%d", urn, q->year);
    return n;
}

/* matching asks for the pupils matching q with their attendance: the
 * attendance index alone, or intersected with the filters' sets (their
 * weight 0, so the score stays the attendance). */
static redisReply *matching(redisContext *rd, const char *urn, const reports_query_t *q)
{
    char keys[MAX_FILTERS][2 * REPORTS_NAME_MAX + 48], att[48], numkeys[8];
    const char *argv[2 * MAX_FILTERS + 8];
    int argc = 0;
    size_t nf = filter_keys(urn, q, keys);
    snprintf(att, sizeof att, "rs:ix:{%s}:att", urn);
    if (nf == 0)
        return redisCommand(rd, "ZRANGE %s 0 -1 WITHSCORES", att);
    snprintf(numkeys, sizeof numkeys, "%zu", nf + 1);
    argv[argc++] = "ZINTER";
    argv[argc++] = numkeys;
    argv[argc++] = att;
    for (size_t i = 0; i < nf; i++)
        argv[argc++] = keys[i];
    argv[argc++] = "WEIGHTS";
    argv[argc++] = "1";
    for (size_t i = 0; i < nf; i++)
        argv[argc++] = "0";
    argv[argc++] = "WITHSCORES";
    return redisCommandArgv(rd, argc, argv, NULL);
}

/* pupil_row builds one row from the pupil's rs:pupil hash h and its
 * reference fields ref (forename surname year_group). */
/* pupil_row describes a pupil from its rs:pupil fields (h: the reply to
 * cmd's HMGET, or to HGETALL when cmd is NULL) and reference row ref. */
static json_t *pupil_row(const char *upn, const reports_row_cmd_t *cmd, const redisReply *h,
                         const redisReply *ref)
{
    json_t *o = json_pack("{s:s}", "upn", upn);
    if (!o)
        return NULL;
    int ok = ref && ref->type == REDIS_REPLY_ARRAY && ref->elements == 3;
    reports_set_str(o, "forename", ok ? ref->element[0] : NULL);
    reports_set_str(o, "surname", ok ? ref->element[1] : NULL);
    reports_set_int(o, "year_group", ok ? ref->element[2] : NULL);
    if (cmd)
        reports_pupil_fields_named(o, cmd, h);
    else
        reports_pupil_fields(o, h);
    return o;
}

/* pupil_rows reads the rows of members m[0..n) into rows. */
static rc_err_t pupil_rows(redisContext *rd, const char *urn, const member_t *m, size_t n,
                           json_t *rows)
{
    redisReply **r = calloc(2 * n + 1, sizeof *r), *order = NULL;
    reports_row_cmd_t cmd;
    rc_err_t rc = RC_ENOMEM;
    if (!r)
        return RC_ENOMEM;
    if (!(order = redisCommand(rd, "HGET rs:school:{%s} stage_order", urn)) ||
        (order->type != REDIS_REPLY_STRING && order->type != REDIS_REPLY_NIL)) {
        rc = RC_EIO;
        goto out;
    }
    int named = reports_row_cmd_init(&cmd, reports_str(order));
    for (size_t i = 0; i < n; i++) {
        if (named)
            reports_row_cmd_append(&cmd, rd, urn, m[i].upn);
        else
            redisAppendCommand(rd, "HGETALL rs:pupil:{%s}:%s", urn, m[i].upn);
        redisAppendCommand(rd, "HMGET rc:pupil:{%s}:%s forename surname year_group", urn, m[i].upn);
    }
    if ((rc = reports_replies(rd, r, 2 * n)) == RC_OK) {
        for (size_t i = 0; i < n && rc == RC_OK; i++)
            if (json_array_append_new(
                    rows, pupil_row(m[i].upn, named ? &cmd : NULL, r[2 * i], r[2 * i + 1])))
                rc = RC_ENOMEM;
        reports_free_replies(r, 2 * n);
    }
out:
    freeReplyObject(order);
    free(r);
    return rc;
}

/* known_names checks q's band and stage against the school's policy, as
 * rules recorded it (docs/reports-data.md): a name the policy does not have
 * is a mistake to tell, not an empty list. RC_EINVAL with why. */
static rc_err_t known_names(redisContext *rd, const char *urn, const reports_query_t *q,
                            char why[REPORTS_WHY_MAX])
{
    if (!q->band[0] && !q->stage[0])
        return RC_OK;
    redisReply *r = redisCommand(rd, "HMGET rs:school:{%s} band_order stage_order", urn);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        freeReplyObject(r);
        return RC_EIO;
    }
    const char *bands = reports_str(r->element[0]), *stages = reports_str(r->element[1]);
    rc_err_t rc = RC_OK;
    if (q->band[0] && bands && bands[0] && !reports_in_list(bands, q->band, strlen(q->band))) {
        snprintf(why, REPORTS_WHY_MAX, "band=%.40s: not a band of the school's policy (%.60s)",
                 q->band, bands);
        rc = RC_EINVAL;
    }
    const char *colon = strchr(q->stage, ':');
    if (rc == RC_OK && colon && stages && stages[0]) {
        size_t tl = (size_t)(colon - q->stage);
        const char *t = stages, *ladder = NULL;
        while (*t && !ladder) { /* "absence=stage_1,stage_2 lateness=letter_1" */
            if (strncmp(t, q->stage, tl) == 0 && t[tl] == '=')
                ladder = t + tl + 1;
            t += strcspn(t, " ");
            t += *t == ' ';
        }
        if (!ladder) {
            snprintf(why, REPORTS_WHY_MAX, "stage=%.40s: the school's policy has no track %.*s",
                     q->stage, (int)(tl < 40 ? tl : 40), q->stage);
            rc = RC_EINVAL;
        } else if (strcmp(colon + 1, "none") != 0 &&
                   !reports_in_list(ladder, colon + 1, strlen(colon + 1))) {
            int ll = (int)strcspn(ladder, " ");
            snprintf(why, REPORTS_WHY_MAX, "stage=%.40s: no such stage on that track (%.*s, none)",
                     q->stage, ll < 60 ? ll : 60, ladder);
            rc = RC_EINVAL;
        }
    }
    freeReplyObject(r);
    return rc;
}

rc_err_t reports_list_pupils(redisContext *rd, const char *urn, const reports_query_t *q,
                             json_t **rows, size_t *total, char why[REPORTS_WHY_MAX])
{
    redisReply *z = NULL;
    upn_set_t staged = {0};
    member_t *m = NULL;
    rc_err_t rc;
    *rows = NULL;
    *total = 0;
    if ((rc = known_names(rd, urn, q, why)) != RC_OK)
        return rc;
    if (stage_is_none(q) && (rc = on_some_stage(rd, urn, q, &staged)) != RC_OK)
        goto out;
    rc = RC_EIO;
    if (!(z = matching(rd, urn, q)) || z->type != REDIS_REPLY_ARRAY)
        goto out;
    size_t n = 0;
    rc = RC_ENOMEM;
    if (!(m = calloc(z->elements / 2 + 1, sizeof *m)) || !(*rows = json_array()))
        goto out;
    for (size_t i = 0; i + 1 < z->elements; i += 2) {
        const char *upn = reports_str(z->element[i]), *score = reports_str(z->element[i + 1]);
        if (upn && !upn_set_has(&staged, upn))
            m[n++] = (member_t){upn, strtod(score ? score : "-1", NULL)};
    }
    qsort(m, n, sizeof *m, by_attendance);
    *total = n;
    size_t from = q->offset < n ? q->offset : n;
    size_t count = n - from < q->limit ? n - from : q->limit;
    rc = pupil_rows(rd, urn, m + from, count, *rows);
out:
    if (rc != RC_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    free(m);
    freeReplyObject(z);
    upn_set_free(&staged);
    return rc;
}

/* ---- reviews ---- */

/* review_rows fills each row's names and stage: one pipelined round trip. */
static rc_err_t review_names(redisContext *rd, const char *urn, json_t *rows)
{
    size_t n = json_array_size(rows), i;
    redisReply **r = calloc(2 * n + 1, sizeof *r);
    json_t *row;
    rc_err_t rc;
    if (!r)
        return RC_ENOMEM;
    json_array_foreach(rows, i, row)
    {
        const char *upn = json_string_value(json_object_get(row, "upn"));
        redisAppendCommand(rd, "HMGET rc:pupil:{%s}:%s forename surname year_group", urn, upn);
        redisAppendCommand(rd, "HGET rs:pupil:{%s}:%s stage:%s", urn, upn,
                           json_string_value(json_object_get(row, "track")));
    }
    if ((rc = reports_replies(rd, r, 2 * n)) != RC_OK)
        goto out;
    json_array_foreach(rows, i, row)
    {
        const redisReply *ref = r[2 * i];
        int ok = ref->type == REDIS_REPLY_ARRAY && ref->elements == 3;
        reports_set_str(row, "forename", ok ? ref->element[0] : NULL);
        reports_set_str(row, "surname", ok ? ref->element[1] : NULL);
        reports_set_int(row, "year_group", ok ? ref->element[2] : NULL);
        const char *stage = reports_str(r[2 * i + 1]);
        json_object_set_new(row, "stage", stage && stage[0] ? json_string(stage) : json_null());
    }
    reports_free_replies(r, 2 * n);
out:
    free(r);
    return rc;
}

/* review_row makes the row of index member "<upn>|<track>" due on date. */
static json_t *review_row(const char *member, rc_date_t date, rc_date_t today)
{
    const char *bar = strchr(member, '|');
    char d[RC_DATE_STRLEN];
    if (!bar || bar == member || !bar[1] || date == RC_DATE_NONE)
        return NULL;
    return json_pack("{s:s%,s:s,s:s,s:b}", "upn", member, (size_t)(bar - member), "track", bar + 1,
                     "review_date", date_format(date, d), "overdue",
                     today != RC_DATE_NONE && date < today);
}

rc_err_t reports_list_reviews(redisContext *rd, const char *urn, const reports_query_t *q,
                              json_t **rows, size_t *total, char why[REPORTS_WHY_MAX])
{
    redisReply *r[2];
    rc_date_t today = RC_DATE_NONE;
    rc_err_t rc;
    (void)why;
    *rows = NULL;
    *total = 0;
    redisAppendCommand(rd, "HGET rs:school:{%s} today", urn);
    redisAppendCommand(rd, "ZRANGE rs:ix:{%s}:review 0 -1 WITHSCORES", urn);
    if ((rc = reports_replies(rd, r, 2)) != RC_OK)
        return rc;
    const char *t = reports_str(r[0]);
    if (t && date_parse(t, strlen(t), &today) != RC_OK)
        today = RC_DATE_NONE;
    rc = RC_ENOMEM;
    if (!(*rows = json_array()))
        goto out;
    for (size_t i = 0; r[1]->type == REDIS_REPLY_ARRAY && i + 1 < r[1]->elements; i += 2) {
        const char *member = reports_str(r[1]->element[i]);
        const char *score = reports_str(r[1]->element[i + 1]);
        rc_date_t d = date_from_number(score ? strtol(score, NULL, 10) : 0);
        /* Without a today (rules has not run yet) every review is listed. */
        if (!member || d == RC_DATE_NONE || (today != RC_DATE_NONE && d > today + q->within_days))
            continue;
        json_t *row = review_row(member, d, today);
        if (row && json_array_append_new(*rows, row))
            goto out;
    }
    if ((rc = reports_page(rows, q, total)) == RC_OK)
        rc = review_names(rd, urn, *rows);
out:
    if (rc != RC_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    reports_free_replies(r, 2);
    return rc;
}
