/* reports_util.c - the reads and JSON pieces every reports endpoint uses. */
#include "reports/reports_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/log.h"

rc_err_t reports_replies(redisContext *rd, redisReply **r, size_t n)
{
    memset(r, 0, n * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        /* Every reply is read even after an error one, so the connection
         * stays in step for the next request. */
        if (redisGetReply(rd, (void **)&r[i]) != REDIS_OK) {
            reports_free_replies(r, i);
            return RC_EIO;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (r[i]->type == REDIS_REPLY_ERROR) {
            log_warn("reports.redis_error", LOG_STR("error", r[i]->str));
            reports_free_replies(r, n);
            return RC_EIO;
        }
    }
    return RC_OK;
}

void reports_free_replies(redisReply **r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        freeReplyObject(r[i]);
        r[i] = NULL;
    }
}

json_int_t reports_count(const json_t *counts, const char *name)
{
    return json_integer_value(json_object_get(counts, name));
}

static rc_err_t add_one(json_t *counts, const char *name, json_int_t v)
{
    json_t *have = json_object_get(counts, name);
    if (have)
        return json_integer_set(have, json_integer_value(have) + v) ? RC_ENOMEM : RC_OK;
    return json_object_set_new(counts, name, json_integer(v)) ? RC_ENOMEM : RC_OK;
}

rc_err_t reports_counts_add(json_t *counts, const redisReply *h)
{
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
        const char *k = reports_str(h->element[i]), *v = reports_str(h->element[i + 1]);
        if (k && v && add_one(counts, k, strtoll(v, NULL, 10)) != RC_OK)
            return RC_ENOMEM;
    }
    return RC_OK;
}

rc_err_t reports_counts_merge(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        if (add_one(dst, k, json_integer_value(v)) != RC_OK)
            return RC_ENOMEM;
    }
    return RC_OK;
}

json_t *reports_pct(json_int_t part, json_int_t whole)
{
    if (whole <= 0)
        return json_null();
    return json_real(round(1000.0 * (double)part / (double)whole) / 10.0);
}

int reports_in_list(const char *list, const char *name, size_t len)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ", ");
        if (n == len && strncmp(p, name, len) == 0)
            return 1;
        p += n;
        if (*p != ',')
            break;
        p++;
    }
    return 0;
}

const char *reports_str(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

void reports_set_str(json_t *o, const char *key, const redisReply *r)
{
    const char *s = reports_str(r);
    json_object_set_new(o, key, s ? json_string(s) : json_null());
}

void reports_set_int(json_t *o, const char *key, const redisReply *r)
{
    const char *s = reports_str(r);
    char *end;
    long long v = s ? strtoll(s, &end, 10) : 0;
    json_object_set_new(o, key, s && s[0] && !*end ? json_integer(v) : json_null());
}

static const char *const int_fields[] = {
    "possible_sessions",           "attended_sessions",           "authorised_absences",
    "unauthorised_absences",       "late_before_close",           "late_after_close",
    "penalty_window_unauthorised", "consecutive_unexplained_days"};
#define N_INT_FIELDS (sizeof int_fields / sizeof int_fields[0])

/* pupil_field sets the one field name = val of the stored hash on o. */
static void pupil_field(json_t *o, json_t *stages, const char *name, const char *val)
{
    for (size_t f = 0; f < N_INT_FIELDS; f++)
        if (strcmp(name, int_fields[f]) == 0)
            json_object_set_new(o, name, json_integer(strtoll(val, NULL, 10)));
    if (strcmp(name, "attendance_pct") == 0 && val[0])
        json_object_set_new(o, name, json_real(strtod(val, NULL)));
    else if (strcmp(name, "persistent_absentee") == 0 || strcmp(name, "severe_absentee") == 0)
        json_object_set_new(o, name, json_boolean(strcmp(val, "1") == 0));
    else if ((strcmp(name, "band") == 0 || strcmp(name, "as_of") == 0) && val[0])
        json_object_set_new(o, name, json_string(val));
    else if (strncmp(name, "stage:", 6) == 0 && name[6])
        json_object_set_new(stages, name + 6, val[0] ? json_string(val) : json_null());
}

void reports_pupil_fields(json_t *o, const redisReply *h)
{
    json_t *stages = json_object();
    for (size_t i = 0; i < N_INT_FIELDS; i++)
        json_object_set_new(o, int_fields[i], json_integer(0));
    json_object_set_new(o, "attendance_pct", json_null());
    json_object_set_new(o, "persistent_absentee", json_false());
    json_object_set_new(o, "severe_absentee", json_false());
    json_object_set_new(o, "band", json_null());
    json_object_set_new(o, "as_of", json_null());
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
        const char *k = reports_str(h->element[i]), *v = reports_str(h->element[i + 1]);
        if (k && v)
            pupil_field(o, stages, k, v);
    }
    json_object_set_new(o, "stages", stages);
}

int reports_row_cmd_init(reports_row_cmd_t *c, const char *stage_order)
{
    static const char *const more[] = {"attendance_pct", "persistent_absentee", "severe_absentee",
                                       "band", "as_of"};
    memset(c, 0, sizeof *c);
    if (!stage_order || !stage_order[0])
        return 0;
    c->argv[c->argc++] = "HMGET";
    c->argv[c->argc++] = c->key;
    for (size_t i = 0; i < N_INT_FIELDS; i++)
        c->argv[c->argc++] = int_fields[i];
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        c->argv[c->argc++] = more[i];
    size_t t = 0;
    for (const char *p = stage_order; *p && t < sizeof c->tracks / sizeof c->tracks[0];) {
        size_t tl = strcspn(p, "= ");
        snprintf(c->tracks[t], sizeof c->tracks[t], "stage:%.*s", (int)tl, p);
        c->argv[c->argc++] = c->tracks[t++];
        p += strcspn(p, " ");
        p += *p == ' ';
    }
    return 1;
}

void reports_row_cmd_append(reports_row_cmd_t *c, redisContext *rd, const char *urn,
                            const char *upn)
{
    snprintf(c->key, sizeof c->key, "rs:pupil:{%s}:%s", urn, upn);
    redisAppendCommandArgv(rd, c->argc, c->argv, NULL);
}

void reports_pupil_fields_named(json_t *o, const reports_row_cmd_t *c, const redisReply *vals)
{
    reports_pupil_fields(o, NULL);
    json_t *stages = json_object_get(o, "stages");
    for (int i = 2;
         vals && vals->type == REDIS_REPLY_ARRAY && i < c->argc && (size_t)(i - 2) < vals->elements;
         i++) {
        const char *v = reports_str(vals->element[i - 2]);
        if (v)
            pupil_field(o, stages, c->argv[i], v);
        else if (strncmp(c->argv[i], "stage:", 6) == 0) /* a track with no stage yet */
            json_object_set_new(stages, c->argv[i] + 6, json_null());
    }
}

int reports_decode_event(const redisReply *r, const char *urn, const char *seq, wire_msg_t *m)
{
    const redisReply *fields = NULL, *env = NULL;
    char why[CODEC_WHY_MAX] = "";
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
        fields = r->element[0]->element[1];
    for (size_t f = 0; fields && f + 1 < fields->elements; f += 2) {
        const char *k = reports_str(fields->element[f]);
        if (k && strcmp(k, "e") == 0)
            env = fields->element[f + 1];
    }
    if (env && env->type == REDIS_REPLY_STRING &&
        codec_decode((const uint8_t *)env->str, env->len, m, why) == RC_OK &&
        m->kind == WIRE_PUPIL_EVENT)
        return 1;
    log_warn("reports.outbox_unreadable", LOG_STR("urn", urn), LOG_STR("seq", seq),
             LOG_STR("why", env ? (why[0] ? why : "not a pupil event") : "missing"));
    return 0;
}
