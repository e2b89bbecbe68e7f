/* sim_twilio.c - the Messages resource of Twilio's 2010-04-01 API. */
#include "sim_twilio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/log.h"

#define API          "/2010-04-01/Accounts/"
#define MAX_BODY     1600 /* characters Twilio takes in one message */
#define MAX_PARAMS   64
#define DEFAULT_PAGE 50

/* A form-encoded body, decoded: params point into buf. */
typedef struct {
    char *buf;
    sim_param_t params[MAX_PARAMS];
    size_t n;
} form_t;

static void form_parse(form_t *f, const char *body, size_t len)
{
    f->n = 0;
    if (!(f->buf = malloc(len + 1)))
        return;
    memcpy(f->buf, body, len);
    f->buf[len] = '\0';
    for (char *p = f->buf; *p && f->n < MAX_PARAMS;) {
        char *amp = strchr(p, '&'), *eq;
        if (amp)
            *amp = '\0';
        eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        if (*p) {
            f->params[f->n].key = sim_utf8_fix(sim_url_decode(p));
            f->params[f->n].value = eq ? sim_utf8_fix(sim_url_decode(eq + 1)) : "";
            f->n++;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
}

static const char *form_get(const form_t *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->params[i].key, key) == 0)
            return f->params[i].value;
    return NULL;
}

static const char *usual_message(int status)
{
    switch (status) {
    case 401:
        return "Authenticate";
    case 404:
        return "The requested resource was not found";
    case 405:
        return "Method not allowed";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Bad Request";
    }
}

void sim_twilio_error(sim_response_t *out, int status, int code, const char *message)
{
    char more[80];
    if (code == 0)
        code = 20000 + status;
    snprintf(more, sizeof more, "https://www.twilio.com/docs/errors/%d", code);
    sim_reply_json(out, status,
                   json_pack("{s:i, s:s, s:s, s:i}", "code", code, "message",
                             message && *message ? message : usual_message(status), "more_info",
                             more, "status", status));
    out->gateway = "twilio";
}

static void not_found(sim_response_t *out, const char *path)
{
    char msg[600];
    snprintf(msg, sizeof msg, "The requested resource %.500s was not found", path);
    sim_twilio_error(out, 404, 20404, msg);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *rfc_or_null(int64_t ms)
{
    char t[SIM_TIME_RFC_MAX];
    if (!ms)
        return json_null();
    sim_time_rfc2822(ms, t);
    return json_string(t);
}

/* message_json renders m (store locked) as Twilio's Message resource. */
static json_t *message_json(const char *account_sid, const sim_msg_t *m)
{
    char uri[200], media[200], feedback[200], segments[16];
    int64_t updated = m->completed_ms > m->sent_ms ? m->completed_ms : m->sent_ms;
    snprintf(uri, sizeof uri, API "%s/Messages/%s.json", account_sid, m->id);
    snprintf(media, sizeof media, API "%s/Messages/%s/Media.json", account_sid, m->id);
    snprintf(feedback, sizeof feedback, API "%s/Messages/%s/Feedback.json", account_sid, m->id);
    snprintf(segments, sizeof segments, "%d", sim_sms_segments(m->body));
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:n, s:o, s:o, s:s, s:s, s:n, "
        "s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s}",
        "account_sid", account_sid, "api_version", "2010-04-01", "body", m->body, "date_created",
        rfc_or_null(m->created_ms), "date_sent", rfc_or_null(m->sent_ms), "date_updated",
        rfc_or_null(updated > m->created_ms ? updated : m->created_ms), "direction", "outbound-api",
        "error_code", m->error_code ? json_integer(m->error_code) : json_null(), "error_message",
        "from", str_or_null(m->from), "messaging_service_sid",
        str_or_null(m->messaging_service_sid), "num_media", "0", "num_segments", segments, "price",
        "price_unit", "USD", "sid", m->id, "status", m->status, "subresource_uris", "media", media,
        "feedback", feedback, "to", m->to, "uri", uri);
}

/* Twilio's magic "To" numbers: with its test credentials they are refused
 * as a real number of that kind would be. Most messages quote the number,
 * as Twilio's do; after NULL: they do not. */
static const struct {
    const char *to;
    int code;
    const char *before, *after; /* the message either side of the number; NULL: no number */
} magic_to[] = {
    {"+15005550001", 21211, "Invalid 'To' Phone Number: ", ""},
    {"+15005550002", 21612, "The 'To' phone number: ", ", is not currently reachable via SMS."},
    {"+15005550003", 21408,
     "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
     "number: ",
     "."},
    {"+15005550004", 21610, "Attempt to send to unsubscribed recipient", NULL},
    {"+15005550009", 21614, "'To' number is not a valid mobile number", NULL},
};

/* refused_to answers 400 and returns 1 when to is one of the magic numbers. */
static int refused_to(sim_response_t *out, const char *to)
{
    for (size_t i = 0; i < sizeof magic_to / sizeof magic_to[0]; i++)
        if (strcmp(to, magic_to[i].to) == 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s%s%s", magic_to[i].before, magic_to[i].after ? to : "",
                     magic_to[i].after ? magic_to[i].after : "");
            sim_twilio_error(out, 400, magic_to[i].code, msg);
            return 1;
        }
    return 0;
}

/* An alphanumeric sender id: 1 to 11 letters, digits and spaces, one a letter. */
static int alnum_sender(const char *s)
{
    size_t n = strlen(s);
    int letter = 0;
    if (n == 0 || n > 11)
        return 0;
    for (const char *p = s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
            letter = 1;
        else if (!(*p >= '0' && *p <= '9') && *p != ' ')
            return 0;
    }
    return letter;
}

static void create(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out)
{
    const char *sid = ctx->cfg->twilio_account_sid;
    form_t f = {0};
    sim_msg_t *msg = NULL;
    json_t *resp;
    char err[600], to_h[LOG_UPN_HASH_HEX + 1];

    form_parse(&f, req->body, req->body_len);
    if (!f.buf)
        goto oom;
    const char *to = form_get(&f, "To"), *from = form_get(&f, "From"), *body = form_get(&f, "Body"),
               *mg = form_get(&f, "MessagingServiceSid"), *cb = form_get(&f, "StatusCallback");
    if (!to || !*to) {
        sim_twilio_error(out, 400, 21604, "A 'To' phone number is required.");
        goto out;
    }
    if (!sim_e164_valid(to)) {
        snprintf(err, sizeof err, "Invalid 'To' Phone Number: %.200s", to);
        sim_twilio_error(out, 400, 21211, err);
        goto out;
    }
    if (refused_to(out, to))
        goto out;
    if ((!from || !*from) && (!mg || !*mg)) {
        sim_twilio_error(out, 400, 21603,
                         "A 'From' or 'MessagingServiceSid' parameter is required to send a "
                         "message.");
        goto out;
    }
    if (from && *from && !sim_e164_valid(from) && !alnum_sender(from)) {
        snprintf(err, sizeof err, "Invalid From Number (caller ID): %.200s", from);
        sim_twilio_error(out, 400, 21212, err);
        goto out;
    }
    if (mg && *mg && !sim_sid_valid(mg, "MG")) {
        snprintf(err, sizeof err, "The Messaging Service Sid %.200s is invalid.", mg);
        sim_twilio_error(out, 400, 21701, err);
        goto out;
    }
    if (!body || !*body) {
        sim_twilio_error(out, 400, 21602, "Message body is required.");
        goto out;
    }
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)body; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    if (chars > MAX_BODY) {
        sim_twilio_error(out, 400, 21617,
                         "The concatenated message body exceeds the 1600 character limit.");
        goto out;
    }
    if (cb && *cb && strncmp(cb, "http://", 7) != 0 && strncmp(cb, "https://", 8) != 0) {
        snprintf(err, sizeof err, "The StatusCallback URL %.200s is not a valid URL.", cb);
        sim_twilio_error(out, 400, 21609, err);
        goto out;
    }

    if (!(msg = sim_msg_new()))
        goto oom;
    msg->gateway = SIM_GW_TWILIO;
    sim_sid_new("SM", msg->id);
    snprintf(msg->type, sizeof msg->type, "sms");
    msg->to = strdup(to);
    msg->from = from && *from ? strdup(from) : NULL;
    msg->messaging_service_sid = mg && *mg ? strdup(mg) : NULL;
    msg->body = strdup(body);
    msg->status_callback = cb && *cb ? strdup(cb) : NULL;
    /* A Messaging Service picks the sender later: Twilio says "accepted" first. */
    snprintf(msg->status, sizeof msg->status, "%s",
             msg->messaging_service_sid ? "accepted" : "queued");
    msg->created_ms = req->now_ms;
    msg->outcome = sim_outcome_for(to);
    if (!msg->to || !msg->body || (from && *from && !msg->from) ||
        (mg && *mg && !msg->messaging_service_sid) || (cb && *cb && !msg->status_callback))
        goto oom;
    if (!(resp = message_json(sid, msg)))
        goto oom;
    char id[sizeof msg->id];
    int error_code;
    const char *final = sim_outcome_twilio_status(msg->outcome, &error_code);
    memcpy(id, msg->id, sizeof id);
    log_upn_hash(msg->to, to_h);
    if (sim_store_add(ctx->store, &msg) != RC_OK) {
        json_decref(resp);
        goto oom;
    }
    log_info("sim.accepted", LOG_STR("gateway", "twilio"), LOG_STR("type", "sms"), LOG_ID("id", id),
             LOG_ID("to_h", to_h), LOG_STR("outcome", final),
             LOG_BOOL("status_callback", cb && *cb));
    if (ctx->deliver && sim_deliver_schedule(ctx->deliver, SIM_GW_TWILIO, id,
                                             req->now_ms + ctx->cfg->deliver_after_ms) != RC_OK)
        log_warn("sim.receipt_lost", LOG_ID("id", id), LOG_STR("why", "out of memory"));
    sim_reply_json(out, 201, resp);
    goto out;
oom:
    sim_reply_json(out, 503, NULL);
out:
    sim_msg_destroy(&msg);
    free(f.buf);
}

static void fetch(const sim_ctx_t *ctx, const sim_request_t *req, const char *msid,
                  sim_response_t *out)
{
    sim_store_lock(ctx->store);
    const sim_msg_t *m = sim_store_find(ctx->store, SIM_GW_TWILIO, msid);
    json_t *o = m ? message_json(ctx->cfg->twilio_account_sid, m) : NULL;
    sim_store_unlock(ctx->store);
    if (!m)
        not_found(out, req->path);
    else
        sim_reply_json(out, 200, o);
}

/* The filters of a list request, as Twilio's "Read multiple Message
 * resources" takes them. */
static const char *const list_filters[] = {"To", "From", "DateSent", "DateSent<", "DateSent>"};
enum { F_TO, F_FROM, F_ON, F_UNTIL, F_SINCE, NFILTERS };

typedef struct {
    const char *value[NFILTERS]; /* NULL: not given */
    int32_t day[NFILTERS];       /* the DateSent filters' GMT day numbers */
} filters_t;

/* matches is true when m passes every filter. Twilio filters on date_sent
 * and compares GMT dates only; a message not sent yet (queued, accepted)
 * has no date_sent, so any DateSent filter leaves it out. */
static int matches(const sim_msg_t *m, const filters_t *f)
{
    if (m->gateway != SIM_GW_TWILIO || (f->value[F_TO] && strcmp(f->value[F_TO], m->to) != 0) ||
        (f->value[F_FROM] && (!m->from || strcmp(f->value[F_FROM], m->from) != 0)))
        return 0;
    if (!f->value[F_ON] && !f->value[F_UNTIL] && !f->value[F_SINCE])
        return 1;
    if (!m->sent_ms)
        return 0;
    int32_t day = sim_gmt_day(m->sent_ms);
    return (!f->value[F_ON] || day == f->day[F_ON]) &&
           (!f->value[F_UNTIL] || day <= f->day[F_UNTIL]) &&
           (!f->value[F_SINCE] || day >= f->day[F_SINCE]);
}

/* percent_encode appends s to o, all but RFC 3986's unreserved bytes as
 * %XX, as Twilio writes its page URIs; returns the new end. */
static char *percent_encode(char *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    return o;
}

/* page_uri returns (malloc'd; NULL on ENOMEM) the URI of page `page`: the
 * filters as given, then PageSize and Page, as Twilio's own page URIs are. */
static char *page_uri(const char *sid, const filters_t *f, long page_size, long page)
{
    size_t cap = sizeof API + strlen(sid) + 64;
    for (int i = 0; i < NFILTERS; i++)
        if (f->value[i])
            cap += 3 * (strlen(list_filters[i]) + strlen(f->value[i])) + 2;
    char *uri = malloc(cap), *o;
    if (!uri)
        return NULL;
    o = uri + sprintf(uri, API "%s/Messages.json?", sid);
    for (int i = 0; i < NFILTERS; i++) {
        if (!f->value[i])
            continue;
        o = percent_encode(o, list_filters[i]);
        *o++ = '=';
        o = percent_encode(o, f->value[i]);
        *o++ = '&';
    }
    sprintf(o, "PageSize=%ld&Page=%ld", page_size, page);
    return uri;
}

/* number reads a whole decimal query value in [lo, hi]; def when absent,
 * -1 when it is not one. */
static long number(const char *s, long lo, long hi, long def)
{
    char *end;
    if (!s)
        return def;
    long v = strtol(s, &end, 10);
    return end == s || *end || v < lo || v > hi ? -1 : v;
}

static void list(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out)
{
    const char *sid = ctx->cfg->twilio_account_sid;
    filters_t f = {0};
    char err[300];
    char *uri = NULL, *first = NULL, *prev = NULL, *next = NULL;
    json_t *msgs = NULL;

    for (int i = 0; i < NFILTERS; i++) {
        f.value[i] = sim_query(req, list_filters[i]);
        if (i >= F_ON && f.value[i] && sim_twilio_day(f.value[i], &f.day[i]) != 0) {
            snprintf(err, sizeof err, "Invalid %s value: %.100s (expected YYYY-MM-DD)",
                     list_filters[i], f.value[i]);
            sim_twilio_error(out, 400, 20001, err);
            return;
        }
    }
    long page_size = number(sim_query(req, "PageSize"), 1, 1000, DEFAULT_PAGE);
    long page = number(sim_query(req, "Page"), 0, 1000000, 0);
    if (page_size < 0 || page < 0) {
        sim_twilio_error(out, 400, 20001,
                         page_size < 0 ? "PageSize must be a whole number from 1 to 1000"
                                       : "Page must be a whole number from 0");
        return;
    }
    if (!(msgs = json_array()))
        goto oom;
    /* Newest first; PageToken is not needed: Page alone says where to start. */
    long skip = page * page_size, matched = 0;
    int more = 0;
    sim_store_lock(ctx->store);
    for (size_t i = sim_store_count(ctx->store); i-- > 0;) {
        const sim_msg_t *m = sim_store_at(ctx->store, i);
        if (!matches(m, &f) || matched++ < skip)
            continue;
        if ((long)json_array_size(msgs) == page_size) {
            more = 1;
            break;
        }
        if (json_array_append_new(msgs, message_json(sid, m)) != 0) {
            sim_store_unlock(ctx->store);
            goto oom;
        }
    }
    sim_store_unlock(ctx->store);
    uri = page_uri(sid, &f, page_size, page);
    first = page_uri(sid, &f, page_size, 0);
    prev = page > 0 ? page_uri(sid, &f, page_size, page - 1) : NULL;
    next = more ? page_uri(sid, &f, page_size, page + 1) : NULL;
    if (!uri || !first || (page > 0 && !prev) || (more && !next))
        goto oom;
    json_int_t n = (json_int_t)json_array_size(msgs);
    sim_reply_json(out, 200,
                   json_pack("{s:I, s:s, s:O, s:s?, s:i, s:i, s:s?, s:I, s:s}", "end",
                             (json_int_t)skip + (n ? n - 1 : 0), "first_page_uri", first,
                             "messages", msgs, "next_page_uri", next, "page", (int)page,
                             "page_size", (int)page_size, "previous_page_uri", prev, "start",
                             (json_int_t)skip, "uri", uri));
    goto out;
oom:
    sim_reply_json(out, 503, NULL);
out:
    json_decref(msgs);
    free(uri);
    free(first);
    free(prev);
    free(next);
}

void sim_twilio_handle(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out)
{
    const char *sid = ctx->cfg->twilio_account_sid;
    const char *p = req->path, *rest;
    size_t sid_len = strlen(sid);

    out->gateway = "twilio";
    if (!sim_twilio_auth(req->authorization, sid, ctx->cfg->twilio_auth_token)) {
        char more[] = "https://www.twilio.com/docs/errors/20003";
        sim_reply_json(out, 401,
                       json_pack("{s:i, s:s, s:s, s:s, s:i}", "code", 20003, "detail",
                                 "Your AccountSid or AuthToken was incorrect.", "message",
                                 "Authenticate", "more_info", more, "status", 401));
        out->www_authenticate = "Basic realm=\"Twilio API\"";
        out->gateway = "twilio";
        return;
    }
    if (strncmp(p, API, strlen(API)) != 0 || strncmp(p + strlen(API), sid, sid_len) != 0 ||
        p[strlen(API) + sid_len] != '/') {
        not_found(out, p);
        return;
    }
    rest = p + strlen(API) + sid_len;
    if (strcmp(rest, "/Messages.json") == 0) {
        if (strcmp(req->method, "POST") == 0)
            create(ctx, req, out);
        else if (strcmp(req->method, "GET") == 0)
            list(ctx, req, out);
        else
            sim_twilio_error(out, 405, 20004, "Method not allowed");
    } else if (strncmp(rest, "/Messages/", 10) == 0 && strlen(rest) == 10 + SIM_SID_LEN + 5 &&
               strcmp(rest + 10 + SIM_SID_LEN, ".json") == 0) {
        char msid[SIM_SID_LEN + 1];
        memcpy(msid, rest + 10, SIM_SID_LEN);
        msid[SIM_SID_LEN] = '\0';
        if (strcmp(req->method, "GET") == 0)
            fetch(ctx, req, msid, out);
        else
            sim_twilio_error(out, 405, 20004, "Method not allowed");
    } else {
        not_found(out, p);
    }
    out->gateway = "twilio";
}
