/* reports_api.c - the reports HTTP API: routing, access control, the
 * pupil's timeline, and the answers of the summaries (reports_summary.c)
 * and lists (reports_lists.c, reports_events.c) as JSON or CSV. */
#include "reports/reports_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "reports/dashboard.h"
#include "reports/reports_csv.h"
#include "reports/reports_lists.h"
#include "reports/reports_query.h"
#include "reports/reports_summary.h"
#include "reports/reports_util.h"
#include "rollcall/codec.h"
#include "rollcall/date.h"
#include "rollcall/ids.h"
#include "rollcall/log.h"

#define CHALLENGE         "Bearer realm=\"rollcall-reports\""
#define CHALLENGE_INVALID "Bearer realm=\"rollcall-reports\", error=\"invalid_token\""

struct reports_api {
    redisContext *rd;
    const service_common_t *common;
    const reports_tokens_t *tokens;
    reports_api_stats_t stats;
};

reports_api_t *reports_api_new(redisContext *rd, const service_common_t *common,
                               const reports_tokens_t *tokens)
{
    reports_api_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rd = rd;
    self->common = common;
    self->tokens = tokens;
    return self;
}

void reports_api_destroy(reports_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void reports_api_stats(const reports_api_t *self, reports_api_stats_t *out)
{
    *out = self->stats;
}

/* ---- answers ---- */

static void count(reports_api_t *self, int status)
{
    if (status < 300)
        self->stats.ok++;
    else if (status == 401)
        self->stats.unauthorised++;
    else if (status == 403)
        self->stats.forbidden++;
    else if (status < 500)
        self->stats.other_4xx++;
    else
        self->stats.unavailable++;
}

/* answer_error sets a {"error": msg} answer; body NULL (503) when out of memory. */
static void answer_error(reports_api_t *self, http_response_t *out, int status, const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    out->status = status;
    out->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    count(self, status);
}

/* answer_json sets a 200 answer of *o and drops the caller's reference. */
static void answer_json(reports_api_t *self, http_response_t *out, json_t *o)
{
    out->status = 200;
    /* 12 digits: a percentage of one decimal prints as written (93.4). */
    out->body = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(o);
    count(self, 200);
}

/* redis_ready revives the connection when an earlier command broke it. */
static int redis_ready(reports_api_t *self)
{
    return service_redis_revive(self->common, self->rd) == RC_OK;
}

/* ---- access ---- */

/* authenticate finds the token of req's Authorization header ("Bearer
 * <token>", the scheme in any case); NULL when there is none or it is
 * unknown, *sent telling which. */
static const reports_token_t *authenticate(const reports_api_t *self, const http_request_t *req,
                                           int *sent)
{
    const char *a = req->authorization;
    *sent = 0;
    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return NULL;
    a += 7;
    while (*a == ' ')
        a++;
    size_t len = strlen(a);
    while (len && a[len - 1] == ' ')
        len--;
    if (!len)
        return NULL;
    *sent = 1;
    return reports_tokens_find(self->tokens, a, len);
}

/* school_of reads the LA and trust of urn ("" when unknown or none) and
 * whether the school is known. RC_EIO when Redis failed. */
static rc_err_t school_of(reports_api_t *self, const char *urn, char la[RC_LA_LEN + 1],
                          char trust[REPORTS_SCOPE_ID + 1], int *known)
{
    redisReply *r = redisCommand(self->rd, "HMGET rc:school:{%s} la_code trust_id name", urn);
    la[0] = trust[0] = '\0';
    *known = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        freeReplyObject(r);
        return RC_EIO;
    }
    if (r->element[0]->type == REDIS_REPLY_STRING)
        snprintf(la, RC_LA_LEN + 1, "%s", r->element[0]->str);
    if (r->element[1]->type == REDIS_REPLY_STRING)
        snprintf(trust, REPORTS_SCOPE_ID + 1, "%s", r->element[1]->str);
    *known = r->element[0]->type == REDIS_REPLY_STRING || r->element[2]->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    return RC_OK;
}

/* may_read_group is true when a scope of t is admin or kind with id. */
static int may_read_group(const reports_token_t *t, reports_scope_kind_t kind, const char *id)
{
    for (size_t i = 0; i < t->nscopes; i++)
        if (t->scopes[i].kind == SCOPE_ADMIN ||
            (t->scopes[i].kind == kind && strcmp(t->scopes[i].id, id) == 0))
            return 1;
    return 0;
}

/* ---- the pupil ---- */

/* event_json describes one decoded pupil event for the timeline. */
static json_t *event_json(uint64_t seq, const wire_msg_t *m)
{
    const pupil_event_t *e = &m->u.event;
    char date[RC_DATE_STRLEN];
    json_t *o = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s}", "type", "event", "seq", (json_int_t)seq,
                          "event_id", m->event_id, "kind", event_kind_name(e->kind), "date",
                          date_format(e->date, date), "reason", e->reason);
    if (!o)
        return NULL;
    if (e->track[0])
        json_object_set_new(o, "track", json_string(e->track));
    if (e->kind == EVENT_STAGE_CHANGE || e->kind == EVENT_REVIEW) {
        json_object_set_new(o, "stage_from", json_string(e->stage_from));
        json_object_set_new(o, "stage_to", json_string(e->stage_to));
    }
    if (e->kind == EVENT_REVIEW)
        json_object_set_new(o, "improved", json_boolean(e->improved));
    if (e->alert != ALERT_NONE)
        json_object_set_new(o, "alert", json_string(alert_kind_name(e->alert)));
    if (e->referral != REFERRAL_NONE)
        json_object_set_new(o, "referral", json_string(referral_kind_name(e->referral)));
    return o;
}

/* message_json describes one audit entry "<at_us>:<status>:<reference>";
 * NULL when it is not of that shape. */
static json_t *message_json(const char *entry)
{
    char *end;
    long long at = strtoll(entry, &end, 10);
    if (end == entry || *end != ':')
        return NULL;
    const char *status = end + 1, *colon = strchr(status, ':');
    if (!colon)
        return NULL;
    char iso[RC_TIME_STRLEN];
    return json_pack("{s:s,s:s,s:s#,s:s}", "type", "message", "at",
                     time_format_iso((rc_time_t)at, 0, iso), "status", status,
                     (int)(colon - status), "reference", colon + 1);
}

/* outbox_events reads each outbox entry named in hist (LRANGE reply) and
 * appends it to evs. RC_EIO when Redis failed. */
static rc_err_t outbox_events(reports_api_t *self, const char *urn, const redisReply *hist,
                              json_t *evs)
{
    for (size_t i = 0; i < hist->elements; i++)
        redisAppendCommand(self->rd, "XRANGE rs:outbox:{%s} %s-0 %s-0", urn,
                           hist->element[i]->str ? hist->element[i]->str : "0",
                           hist->element[i]->str ? hist->element[i]->str : "0");
    rc_err_t rc = RC_OK;
    for (size_t i = 0; i < hist->elements; i++) {
        redisReply *r = NULL;
        if (redisGetReply(self->rd, (void **)&r) != REDIS_OK) {
            return RC_EIO; /* the connection is broken; revived on the next request */
        }
        uint64_t seq = strtoull(hist->element[i]->str ? hist->element[i]->str : "0", NULL, 10);
        const redisReply *fields = NULL;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
            fields = r->element[0]->element[1];
        const redisReply *env = NULL;
        for (size_t f = 0; fields && f + 1 < fields->elements; f += 2)
            if (fields->element[f]->type == REDIS_REPLY_STRING &&
                strcmp(fields->element[f]->str, "e") == 0)
                env = fields->element[f + 1];
        wire_msg_t m;
        char why[CODEC_WHY_MAX] = "";
        if (!env || env->type != REDIS_REPLY_STRING ||
            codec_decode((const uint8_t *)env->str, env->len, &m, why) != RC_OK ||
            m.kind != WIRE_PUPIL_EVENT) {
            log_warn("reports.outbox_unreadable", LOG_STR("urn", urn), LOG_INT("seq", (int64_t)seq),
                     LOG_STR("why", env ? (why[0] ? why : "not a pupil event") : "missing"));
            freeReplyObject(r);
            continue;
        }
        json_t *e = event_json(seq, &m);
        if (!e || json_array_append_new(evs, e) != 0)
            rc = RC_ENOMEM;
        freeReplyObject(r);
    }
    return rc;
}

/* merge_timeline interleaves events (by date) and messages (by instant),
 * each already in order; an event sorts before the messages of its day. */
static json_t *merge_timeline(json_t *evs, json_t *msgs)
{
    json_t *t = json_array();
    size_t i = 0, j = 0, ne = json_array_size(evs), nm = json_array_size(msgs);
    while (t && (i < ne || j < nm)) {
        json_t *pick;
        if (j == nm)
            pick = json_array_get(evs, i++);
        else if (i == ne)
            pick = json_array_get(msgs, j++);
        else {
            const char *d = json_string_value(json_object_get(json_array_get(evs, i), "date"));
            const char *a = json_string_value(json_object_get(json_array_get(msgs, j), "at"));
            pick = strcmp(d, a) <= 0 ? json_array_get(evs, i++) : json_array_get(msgs, j++);
        }
        json_array_append(t, pick);
    }
    return t;
}

/* pupil_json builds the pupil's answer into *out. RC_ENOTFOUND for a pupil
 * the school has never had, RC_EIO when Redis failed, RC_ENOMEM. */
static rc_err_t pupil_json(reports_api_t *self, const char *urn, const char *upn, json_t **out)
{
    redisReply *r[4] = {0};
    json_t *o = NULL, *evs = NULL, *msgs = NULL, *timeline = NULL;
    rc_err_t rc = RC_EIO;
    *out = NULL;
    redisAppendCommand(self->rd, "HGETALL rs:pupil:{%s}:%s", urn, upn);
    redisAppendCommand(self->rd, "SISMEMBER rc:pupils:{%s} %s", urn, upn);
    redisAppendCommand(self->rd, "LRANGE rs:hist:{%s}:%s 0 -1", urn, upn);
    redisAppendCommand(self->rd, "LRANGE rn:audit:{%s}:%s 0 -1", urn, upn);
    for (int i = 0; i < 4; i++)
        if (redisGetReply(self->rd, (void **)&r[i]) != REDIS_OK)
            goto out;
    if (r[0]->type != REDIS_REPLY_ARRAY || r[1]->type != REDIS_REPLY_INTEGER ||
        r[2]->type != REDIS_REPLY_ARRAY || r[3]->type != REDIS_REPLY_ARRAY)
        goto out;
    if (r[0]->elements == 0 && r[1]->integer == 0) {
        rc = RC_ENOTFOUND;
        goto out;
    }
    rc = RC_ENOMEM;
    if (!(o = json_pack("{s:s,s:s}", "urn", urn, "upn", upn)) || !(evs = json_array()) ||
        !(msgs = json_array()))
        goto out;
    reports_pupil_fields(o, r[0]);
    if ((rc = outbox_events(self, urn, r[2], evs)) != RC_OK)
        goto out;
    for (size_t i = 0; i < r[3]->elements; i++) {
        json_t *m = r[3]->element[i]->type == REDIS_REPLY_STRING
                        ? message_json(r[3]->element[i]->str)
                        : NULL;
        if (m)
            json_array_append_new(msgs, m);
        else
            log_warn("reports.audit_unreadable", LOG_STR("urn", urn), LOG_UPN("upn", upn));
    }
    rc = RC_ENOMEM;
    if (!(timeline = merge_timeline(evs, msgs)) || json_object_set_new(o, "timeline", timeline))
        goto out;
    *out = o;
    o = NULL;
    rc = RC_OK;
out:
    json_decref(msgs);
    json_decref(evs);
    json_decref(o);
    for (int i = 3; i >= 0; i--)
        freeReplyObject(r[i]);
    return rc;
}

/* ---- lists and summaries ---- */

static const char *const pupil_cols[] = {"upn",
                                         "forename",
                                         "surname",
                                         "year_group",
                                         "possible_sessions",
                                         "attended_sessions",
                                         "authorised_absences",
                                         "unauthorised_absences",
                                         "attendance_pct",
                                         "penalty_window_unauthorised",
                                         "consecutive_unexplained_days",
                                         "persistent_absentee",
                                         "severe_absentee",
                                         "band",
                                         "stages"};
static const char *const first_day_cols[] = {"upn",        "forename", "surname",
                                             "year_group", "date",     "session",
                                             "reason",     "event_id", "messages"};
static const char *const review_cols[] = {"upn",   "forename", "surname",     "year_group",
                                          "track", "stage",    "review_date", "overdue"};
static const char *const letter_cols[] = {"key",      "date",    "upn",        "upns",
                                          "forename", "surname", "year_group", "addressee",
                                          "template", "subject", "state",      "letter"};
static const char *const referral_cols[] = {"urn",    "upn",      "kind",       "date",
                                            "reason", "event_id", "school_name"};

/* A list endpoint: its reader and its CSV columns. */
typedef struct {
    reports_route_kind_t kind;
    const char *leaf; /* the file name's end */
    rc_err_t (*read)(redisContext *, const char *, const reports_query_t *, json_t **, size_t *,
                     char *);
    const char *const *cols;
    size_t ncols;
} list_t;

#define COLS(a) a, sizeof a / sizeof a[0]
static const list_t lists[] = {
    {ROUTE_PUPILS, "pupils", reports_list_pupils, COLS(pupil_cols)},
    {ROUTE_FIRST_DAY, "first-day-absences", reports_list_first_day, COLS(first_day_cols)},
    {ROUTE_REVIEWS, "reviews", reports_list_reviews, COLS(review_cols)},
    {ROUTE_LETTERS, "letters", reports_list_letters, COLS(letter_cols)},
    {ROUTE_REFERRALS, "referrals", reports_list_referrals, COLS(referral_cols) - 1},
    {ROUTE_LA_REFERRALS, "referrals", reports_list_la_referrals, COLS(referral_cols)},
};

/* answer_err answers a reader's error: 404 (notfound), 400 (why), 503. */
static void answer_err(reports_api_t *self, http_response_t *out, rc_err_t err,
                       const char *notfound, const char *why)
{
    if (err == RC_ENOTFOUND)
        answer_error(self, out, 404, notfound);
    else if (err == RC_EINVAL)
        answer_error(self, out, 400, why);
    else if (err == RC_ENOMEM)
        answer_error(self, out, 503, "out of memory");
    else
        answer_error(self, out, 503, "Redis is unavailable; try again");
}

/* page_headers sets X-Total-Count, and Link to the next page when there is one. */
static void page_headers(http_response_t *out, const http_request_t *req, const reports_query_t *q,
                         size_t shown, size_t total, const char *next)
{
    char n[32], link[REPORTS_QUERY_TEXT + 512];
    snprintf(n, sizeof n, "%zu", total);
    http_response_header(out, "X-Total-Count", n);
    if (q->limit == SIZE_MAX || q->offset + shown >= total)
        return;
    snprintf(link, sizeof link, "<%s?%s%slimit=%zu&offset=%zu>; rel=\"next\"", req->url, next,
             next[0] ? "&" : "", q->limit, q->offset + shown);
    http_response_header(out, "Link", link);
}

/* answer_csv sets the CSV of rows as the answer, dropping rows. */
static void answer_csv(reports_api_t *self, http_response_t *out, const list_t *l, const char *id,
                       json_t *rows)
{
    char disposition[128];
    out->status = 200;
    out->content_type = "text/csv; charset=utf-8";
    out->body = reports_csv_rows(rows, l->cols, l->ncols);
    json_decref(rows);
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s-%s.csv\"", id, l->leaf);
    http_response_header(out, "Content-Disposition", disposition);
    count(self, out->body ? 200 : 503);
}

static void serve_list(reports_api_t *self, const http_request_t *req, http_response_t *out,
                       const reports_route_t *route)
{
    reports_query_t q;
    char next[REPORTS_QUERY_TEXT], why[REPORTS_WHY_MAX];
    int csv;
    const list_t *l = NULL;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (lists[i].kind == route->kind)
            l = &lists[i];
    if (reports_query_parse(req, route->kind, &q, &csv, next, why) != RC_OK) {
        answer_error(self, out, 400, why);
        return;
    }
    json_t *rows = NULL;
    size_t total = 0;
    rc_err_t err = l->read(self->rd, route->id, &q, &rows, &total, why);
    if (err != RC_OK) {
        answer_err(self, out, err, "no such local authority", why);
        return;
    }
    page_headers(out, req, &q, json_array_size(rows), total, next);
    if (csv)
        answer_csv(self, out, l, route->id, rows);
    else
        answer_json(self, out, rows);
}

static void serve_summary(reports_api_t *self, const http_request_t *req, http_response_t *out,
                          const reports_route_t *route)
{
    reports_query_t q;
    char next[REPORTS_QUERY_TEXT], why[REPORTS_WHY_MAX];
    int csv;
    json_t *o = NULL;
    rc_err_t err;
    if (reports_query_parse(req, route->kind, &q, &csv, next, why) != RC_OK) {
        answer_error(self, out, 400, why);
        return;
    }
    if (route->kind == ROUTE_SUMMARY)
        err = reports_school_summary(self->rd, route->id, &o);
    else if (route->kind == ROUTE_TRUST_SUMMARY)
        err = reports_group_summary(self->rd, "trust", route->id, "trust_id", &o);
    else
        err = reports_group_summary(self->rd, "la", route->id, "la_code", &o);
    if (err == RC_OK)
        answer_json(self, out, o);
    else
        answer_err(self, out, err,
                   route->kind == ROUTE_TRUST_SUMMARY ? "no such trust" : "no such local authority",
                   "");
}

/* ---- routing ---- */

static void healthz(reports_api_t *self, http_response_t *out)
{
    redisReply *r = redis_ready(self) ? redisCommand(self->rd, "PING") : NULL;
    if (r && r->type == REDIS_REPLY_STATUS) {
        out->status = 200;
        out->body = strdup("{\"status\":\"ok\"}");
        count(self, 200);
    } else {
        answer_error(self, out, 503, "Redis is unavailable");
    }
    freeReplyObject(r);
}

static void serve_pupil(reports_api_t *self, const http_request_t *req, http_response_t *out,
                        const reports_token_t *tok, const char *urn, const char *upn)
{
    json_t *o = NULL;
    reports_query_t q;
    char next[REPORTS_QUERY_TEXT], why[REPORTS_WHY_MAX];
    int csv;
    if (reports_query_parse(req, ROUTE_PUPIL, &q, &csv, next, why) != RC_OK) {
        answer_error(self, out, 400, why); /* it takes none */
        return;
    }
    rc_err_t err = pupil_json(self, urn, upn, &o);
    if (err == RC_OK)
        answer_json(self, out, o);
    else
        answer_err(self, out, err, "no such pupil at that school", "");
    log_debug("reports.pupil_read", LOG_STR("label", tok->label), LOG_STR("urn", urn),
              LOG_UPN("upn", upn), LOG_INT("status", out->status));
}

/* serve_school answers a /v1/schools/{urn}/... path once the token is known. */
static void serve_school(reports_api_t *self, const http_request_t *req, http_response_t *out,
                         const reports_token_t *tok, const reports_route_t *route)
{
    char la[RC_LA_LEN + 1], trust[REPORTS_SCOPE_ID + 1];
    const char *why, *urn = route->id;
    int known;
    if (urn_check(urn, strlen(urn), &why) != RC_OK) {
        answer_error(self, out, 400, "the URN is not 6 digits");
        return;
    }
    if (route->kind == ROUTE_PUPIL && upn_check(route->upn, strlen(route->upn), &why) != RC_OK) {
        answer_error(self, out, 400, "the UPN is not valid");
        return;
    }
    if (!redis_ready(self) || school_of(self, urn, la, trust, &known) != RC_OK) {
        answer_error(self, out, 503, "Redis is unavailable; try again");
        return;
    }
    if (!reports_token_may_read(tok, urn, la, trust)) {
        answer_error(self, out, 403, "this token may not read that school");
        log_info("reports.forbidden", LOG_STR("label", tok->label), LOG_STR("urn", urn));
        return;
    }
    if (!known)
        answer_error(self, out, 404, "no such school");
    else if (route->kind == ROUTE_PUPIL)
        serve_pupil(self, req, out, tok, urn, route->upn);
    else if (route->kind == ROUTE_SUMMARY)
        serve_summary(self, req, out, route);
    else
        serve_list(self, req, out, route);
}

/* serve_group answers a trust's or an LA's path once the token is known. */
static void serve_group(reports_api_t *self, const http_request_t *req, http_response_t *out,
                        const reports_token_t *tok, const reports_route_t *route)
{
    const char *why;
    int trust = route->kind == ROUTE_TRUST_SUMMARY;
    if (trust ? !reports_trust_id_ok(route->id)
              : la_code_check(route->id, strlen(route->id), &why) != RC_OK) {
        answer_error(self, out, 400,
                     trust ? "the trust id is not 1 to 32 letters, digits, _ or -"
                           : "the LA code is not 3 digits");
        return;
    }
    if (!may_read_group(tok, trust ? SCOPE_TRUST : SCOPE_LA, route->id)) {
        answer_error(self, out, 403,
                     trust ? "this token may not read that trust"
                           : "this token may not read that LA");
        log_info("reports.forbidden", LOG_STR("label", tok->label),
                 LOG_STR(trust ? "trust_id" : "la_code", route->id));
        return;
    }
    if (!redis_ready(self))
        answer_error(self, out, 503, "Redis is unavailable; try again");
    else if (route->kind == ROUTE_LA_REFERRALS)
        serve_list(self, req, out, route);
    else
        serve_summary(self, req, out, route);
}

void reports_api_handle(void *ctx, const http_request_t *req, http_response_t *out)
{
    reports_api_t *self = ctx;
    if (strncmp(req->url, "/dashboard/", 11) == 0 && dashboard_handle(req, out))
        return;
    reports_route_t route;

    if (!reports_route_parse(req->url, &route)) {
        answer_error(self, out, 404, "no such endpoint: see docs/reports-api.md");
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        out->allow = "GET";
        answer_error(self, out, 405, "only GET is served here");
        return;
    }
    if (route.kind == ROUTE_HEALTH) {
        healthz(self, out);
        return;
    }
    int sent;
    const reports_token_t *tok = authenticate(self, req, &sent);
    if (!tok) {
        out->challenge = sent ? CHALLENGE_INVALID : CHALLENGE;
        answer_error(self, out, 401,
                     sent ? "unknown bearer token"
                          : "a bearer token is needed (Authorization: "
                            "Bearer <token>)");
        log_info("reports.unauthorised", LOG_BOOL("token_sent", sent));
        return;
    }
    if (reports_route_is_school(route.kind))
        serve_school(self, req, out, tok, &route);
    else
        serve_group(self, req, out, tok, &route);
}
