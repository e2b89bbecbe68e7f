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

static void list(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out)
{
    const char *sid = ctx->cfg->twilio_account_sid;
    const char *to = sim_query(req, "To"), *from = sim_query(req, "From");
    const char *ps = sim_query(req, "PageSize");
    long page_size = ps ? strtol(ps, NULL, 10) : DEFAULT_PAGE;
    char uri[300];
    json_t *msgs = json_array();

    if (page_size < 1 || page_size > 1000)
        page_size = DEFAULT_PAGE;
    if (!msgs) {
        sim_reply_json(out, 503, NULL);
        return;
    }
    sim_store_lock(ctx->store);
    for (size_t i = sim_store_count(ctx->store);
         i-- > 0 && (long)json_array_size(msgs) < page_size;) {
        const sim_msg_t *m = sim_store_at(ctx->store, i);
        if (m->gateway == SIM_GW_TWILIO && (!to || strcmp(to, m->to) == 0) &&
            (!from || (m->from && strcmp(from, m->from) == 0)))
            json_array_append_new(msgs, message_json(sid, m));
    }
    sim_store_unlock(ctx->store);
    /* One page only: the simulator keeps few enough messages. */
    snprintf(uri, sizeof uri, API "%s/Messages.json?PageSize=%ld&Page=0", sid, page_size);
    sim_reply_json(out, 200,
                   json_pack("{s:o, s:i, s:i, s:I, s:s, s:s, s:n, s:n, s:i, s:s}", "messages", msgs,
                             "page", 0, "page_size", (int)page_size, "end",
                             (json_int_t)json_array_size(msgs) - 1, "uri", uri, "first_page_uri",
                             uri, "next_page_uri", "previous_page_uri", "start", 0, "account_sid",
                             sid));
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
