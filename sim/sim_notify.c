/* sim_notify.c - the Notify API v2 endpoints, their validation and their JSON. */
#include "sim_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/log.h"

#define PAGE_SIZE 250 /* Notify's page of notifications */

/* Status filters Notify accepts; "failed" stands for every failure. */
static const char *const statuses[] = {"cancelled",
                                       "created",
                                       "sending",
                                       "sent",
                                       "delivered",
                                       "pending",
                                       "failed",
                                       "technical-failure",
                                       "temporary-failure",
                                       "permanent-failure",
                                       "accepted",
                                       "received",
                                       NULL};

static const char *usual_error(int status)
{
    switch (status) {
    case 400:
        return "BadRequestError";
    case 401:
    case 403:
        return "AuthError";
    case 404:
        return "NoResultFound";
    case 429:
        return "RateLimitError";
    default:
        return "Exception";
    }
}

static const char *usual_message(int status)
{
    switch (status) {
    case 400:
        return "Bad request";
    case 401:
    case 403:
        return "Invalid token: API key not found";
    case 404:
        return "No result found";
    case 429:
        return "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds";
    default:
        return "Internal server error";
    }
}

static void reply_errors(sim_response_t *out, int status, json_t *errors)
{
    sim_reply_json(out, status,
                   errors ? json_pack("{s:o, s:i}", "errors", errors, "status_code", status)
                          : NULL);
}

void sim_notify_error(sim_response_t *out, int status, const char *error, const char *message)
{
    reply_errors(out, status,
                 json_pack("[{s:s, s:s}]", "error", error && *error ? error : usual_error(status),
                           "message", message && *message ? message : usual_message(status)));
    out->gateway = "notify";
}

/* add_error appends a ValidationError with a message made of parts. */
static void add_error(json_t *errors, const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s%s", a, b ? b : "");
    json_array_append_new(errors,
                          json_pack("{s:s, s:s}", "error", "ValidationError", "message", msg));
}

static void add_type_error(json_t *errors, const char *key, const json_t *v, const char *type)
{
    char msg[512];
    char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(msg, sizeof msg, "%s %.200s is not of type %s", key, dump ? dump : "?", type);
    free(dump);
    add_error(errors, msg, NULL);
}

/* render makes the body the real template would: the simulator has none,
 * so it lists the personalisation. */
static char *render(const char *template_id, const json_t *personalisation)
{
    size_t cap = 64 + strlen(template_id), len;
    const char *key;
    json_t *v;
    char *s;

    json_object_foreach((json_t *)personalisation, key, v)
    {
        char *d = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        cap += strlen(key) + (d ? strlen(d) : json_string_length(v)) + 4;
        free(d);
    }
    if (!(s = malloc(cap)))
        return NULL;
    len = (size_t)snprintf(s, cap, "template %s", template_id);
    const char *sep = ": ";
    json_object_foreach((json_t *)personalisation, key, v)
    {
        char *d = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        len +=
            (size_t)snprintf(s + len, cap - len, "%s%s=%s", sep, key, d ? d : json_string_value(v));
        free(d);
        sep = "; ";
    }
    return s;
}

static json_t *template_ref(const char *base, const char *service_id, const char *template_id)
{
    char uri[1400];
    snprintf(uri, sizeof uri, "%s/services/%s/templates/%s", base, service_id, template_id);
    return json_pack("{s:s, s:i, s:s}", "id", template_id, "version", 1, "uri", uri);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
    char t[SIM_TIME_ISO_MAX];
    if (!ms)
        return json_null();
    sim_time_iso(ms, t);
    return json_string(t);
}

static void send_notification(const sim_ctx_t *ctx, const sim_request_t *req, int sms,
                              sim_response_t *out)
{
    const char *to_key = sms ? "phone_number" : "email_address";
    const char *sender_key = sms ? "sms_sender_id" : "email_reply_to_id";
    char phone[SIM_PHONE_MAX], base[1100], uri[1200], to_h[LOG_UPN_HASH_HEX + 1];
    json_t *in = NULL, *errors = NULL, *resp = NULL;
    sim_msg_t *msg = NULL;
    const json_t *tid, *to, *pers, *ref, *sender;

    in = json_loadb(req->body, req->body_len, 0, NULL);
    if (!json_is_object(in)) {
        sim_notify_error(out, 400, "BadRequestError", "Invalid JSON supplied in POST data");
        goto out;
    }
    if (!(errors = json_array()))
        goto oom;
    tid = json_object_get(in, "template_id");
    to = json_object_get(in, to_key);
    pers = json_object_get(in, "personalisation");
    ref = json_object_get(in, "reference");
    sender = json_object_get(in, sender_key);
    if (!to)
        add_error(errors, to_key, " is a required property");
    else if (!json_is_string(to))
        add_type_error(errors, to_key, to, "string");
    else if (sms && sim_uk_mobile(json_string_value(to), phone) != NULL)
        add_error(errors, "phone_number ", sim_uk_mobile(json_string_value(to), phone));
    else if (!sms && !sim_email_valid(json_string_value(to)))
        add_error(errors, "email_address ", "Not a valid email address");
    if (!tid)
        add_error(errors, "template_id is a required property", NULL);
    else if (!json_is_string(tid) || !sim_uuid_valid(json_string_value(tid)))
        add_error(errors, "template_id is not a valid UUID", NULL);
    if (pers && !json_is_null(pers) && !json_is_object(pers))
        add_type_error(errors, "personalisation", pers, "object");
    if (ref && !json_is_null(ref) && !json_is_string(ref))
        add_type_error(errors, "reference", ref, "string, null");
    if (sender && !json_is_null(sender) &&
        (!json_is_string(sender) || !sim_uuid_valid(json_string_value(sender))))
        add_error(errors, sender_key, " is not a valid UUID");
    if (json_array_size(errors)) {
        reply_errors(out, 400, errors);
        errors = NULL;
        goto out;
    }

    if (!(msg = sim_msg_new()))
        goto oom;
    msg->gateway = SIM_GW_NOTIFY;
    sim_uuid_new(msg->id);
    snprintf(msg->type, sizeof msg->type, "%s", sms ? "sms" : "email");
    snprintf(msg->template_id, sizeof msg->template_id, "%s", json_string_value(tid));
    msg->to = strdup(json_string_value(to));
    msg->from = strdup(sms ? ctx->cfg->notify_sms_sender : ctx->cfg->notify_email_from);
    msg->personalisation = json_is_object(pers) ? json_deep_copy(pers) : NULL;
    msg->reference = json_is_string(ref) ? strdup(json_string_value(ref)) : NULL;
    msg->body = render(msg->template_id, msg->personalisation);
    if (!sms) {
        char subject[64];
        snprintf(subject, sizeof subject, "template %s", msg->template_id);
        msg->subject = strdup(subject);
    }
    /* Notify hands a message to its provider within a second or two. */
    snprintf(msg->status, sizeof msg->status, "sending");
    msg->created_ms = msg->sent_ms = req->now_ms;
    msg->outcome = sim_outcome_for(msg->to);
    if (!msg->to || !msg->from || !msg->body || (!sms && !msg->subject) ||
        (json_is_object(pers) && !msg->personalisation) || (json_is_string(ref) && !msg->reference))
        goto oom;

    sim_base_url(ctx, req, base, sizeof base);
    snprintf(uri, sizeof uri, "%s/v2/notifications/%s", base, msg->id);
    resp = json_pack(
        "{s:s, s:o, s:o, s:s, s:o, s:n}", "id", msg->id, "reference", str_or_null(msg->reference),
        "content",
        sms ? json_pack("{s:s, s:s}", "body", msg->body, "from_number", msg->from)
            : json_pack("{s:s, s:s, s:s, s:n}", "body", msg->body, "subject", msg->subject,
                        "from_email", msg->from, "one_click_unsubscribe_url"),
        "uri", uri, "template", template_ref(base, ctx->cfg->notify_service_id, msg->template_id),
        "scheduled_for");
    if (!resp)
        goto oom;
    char id[sizeof msg->id];
    sim_outcome_t outcome = msg->outcome;
    memcpy(id, msg->id, sizeof id);
    log_upn_hash(msg->to, to_h);
    if (sim_store_add(ctx->store, &msg) != RC_OK)
        goto oom;
    log_info("sim.accepted", LOG_STR("gateway", "notify"), LOG_STR("type", sms ? "sms" : "email"),
             LOG_ID("id", id), LOG_ID("to_h", to_h),
             LOG_STR("outcome", sim_outcome_notify_status(outcome)));
    if (ctx->deliver && sim_deliver_schedule(ctx->deliver, SIM_GW_NOTIFY, id,
                                             req->now_ms + ctx->cfg->deliver_after_ms) != RC_OK)
        log_warn("sim.receipt_lost", LOG_ID("id", id), LOG_STR("why", "out of memory"));
    sim_reply_json(out, 201, resp);
    resp = NULL;
    goto out;
oom:
    sim_reply_json(out, 503, NULL);
out:
    json_decref(resp);
    sim_msg_destroy(&msg);
    json_decref(errors);
    json_decref(in);
}

/* notification_json renders msg (store locked) as GET answers it. */
static json_t *notification_json(const sim_ctx_t *ctx, const char *base, const sim_msg_t *m)
{
    int sms = strcmp(m->type, "sms") == 0;
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:s, "
        "s:s, s:o, s:s, s:o, s:o, s:n, s:o, s:o, s:n, s:n, s:b, s:n, s:{}}",
        "id", m->id, "reference", str_or_null(m->reference), "email_address",
        sms ? json_null() : json_string(m->to), "phone_number",
        sms ? json_string(m->to) : json_null(), "line_1", "line_2", "line_3", "line_4", "line_5",
        "line_6", "postcode", "postage", "type", m->type, "status", m->status, "template",
        template_ref(base, ctx->cfg->notify_service_id, m->template_id), "body", m->body, "subject",
        str_or_null(m->subject), "created_at", time_or_null(m->created_ms), "created_by_name",
        "sent_at", time_or_null(m->sent_ms), "completed_at", time_or_null(m->completed_ms),
        "scheduled_for", "one_click_unsubscribe_url", "is_cost_data_ready", 0, "cost_in_pounds",
        "cost_details");
    return o;
}

json_t *sim_notify_receipt(const sim_msg_t *m)
{
    return json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:i}", "id", m->id, "reference",
                     str_or_null(m->reference), "to", m->to, "status", m->status, "created_at",
                     time_or_null(m->created_ms), "completed_at", time_or_null(m->completed_ms),
                     "sent_at", time_or_null(m->sent_ms), "notification_type", m->type,
                     "template_id", m->template_id, "template_version", 1);
}

static void get_one(const sim_ctx_t *ctx, const sim_request_t *req, const char *id,
                    sim_response_t *out)
{
    char base[1100];
    if (!sim_uuid_valid(id)) {
        sim_notify_error(out, 400, "ValidationError", "notification_id is not a valid UUID");
        return;
    }
    sim_base_url(ctx, req, base, sizeof base);
    sim_store_lock(ctx->store);
    const sim_msg_t *m = sim_store_find(ctx->store, SIM_GW_NOTIFY, id);
    json_t *o = m ? notification_json(ctx, base, m) : NULL;
    sim_store_unlock(ctx->store);
    if (!m)
        sim_notify_error(out, 404, "NoResultFound", "No result found");
    else
        sim_reply_json(out, 200, o);
}

static int status_matches(const char *filter, const char *status)
{
    if (strcmp(filter, "failed") == 0)
        return strstr(status, "-failure") != NULL;
    return strcmp(filter, status) == 0;
}

/* append_query adds "k=v" (v percent-encoded) to url, '?' or '&' first. */
static void append_query(char *url, size_t cap, const char *k, const char *v)
{
    size_t len = strlen(url);
    int n = snprintf(url + len, cap - len, "%c%s=", strchr(url, '?') ? '&' : '?', k);
    if (n < 0 || (size_t)n >= cap - len) { /* no room: leave the link as it was */
        url[len] = '\0';
        return;
    }
    len += (size_t)n;
    for (const unsigned char *p = (const unsigned char *)v; *p && len + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p))
            url[len++] = (char)*p;
        else
            len += (size_t)snprintf(url + len, cap - len, "%%%02X", *p);
    }
    url[len] = '\0';
}

static void get_list(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out)
{
    const char *older = NULL;
    char base[1100], current[4096], next[4200];
    json_t *list = NULL, *errors = json_array();
    size_t i, end;

    if (!errors) {
        sim_reply_json(out, 503, NULL);
        return;
    }
    sim_base_url(ctx, req, base, sizeof base);
    snprintf(current, sizeof current, "%s/v2/notifications", base);
    for (i = 0; i < req->nquery; i++) {
        const char *k = req->query[i].key, *v = req->query[i].value;
        if (strcmp(k, "template_type") == 0) {
            if (strcmp(v, "sms") && strcmp(v, "email") && strcmp(v, "letter")) {
                char msg[300];
                snprintf(msg, sizeof msg, "template_type %.200s is not one of [sms, email, letter]",
                         v);
                add_error(errors, msg, NULL);
            }
        } else if (strcmp(k, "status") == 0) {
            size_t s = 0;
            while (statuses[s] && strcmp(statuses[s], v) != 0)
                s++;
            if (!statuses[s]) {
                char msg[500];
                snprintf(msg, sizeof msg,
                         "status %.100s is not one of [cancelled, created, sending, sent, "
                         "delivered, pending, failed, technical-failure, temporary-failure, "
                         "permanent-failure, accepted, received]",
                         v);
                add_error(errors, msg, NULL);
            }
        } else if (strcmp(k, "older_than") == 0) {
            if (!sim_uuid_valid(v))
                add_error(errors, "older_than is not a valid UUID", NULL);
            older = v;
        } else if (strcmp(k, "reference") != 0 && strcmp(k, "include_jobs") != 0) {
            char msg[300];
            snprintf(msg, sizeof msg,
                     "Additional properties are not allowed (%.200s was unexpected)", k);
            add_error(errors, msg, NULL);
        }
        if (strcmp(k, "older_than") != 0)
            append_query(current, sizeof current, k, v);
    }
    if (json_array_size(errors)) {
        reply_errors(out, 400, errors);
        return;
    }
    json_decref(errors);
    if (!(list = json_array())) {
        sim_reply_json(out, 503, NULL);
        return;
    }

    const char *ref = sim_query(req, "reference");
    char last_id[SIM_SID_LEN + 4] = "";
    sim_store_lock(ctx->store);
    end = sim_store_count(ctx->store);
    if (older) { /* only what came before that notification; nothing when it is unknown */
        const sim_msg_t *o = sim_store_find(ctx->store, SIM_GW_NOTIFY, older);
        for (end = 0; o && sim_store_at(ctx->store, end) != o; end++)
            ;
    }
    for (i = end; i-- > 0 && json_array_size(list) < PAGE_SIZE;) {
        const sim_msg_t *m = sim_store_at(ctx->store, i);
        int ok = m->gateway == SIM_GW_NOTIFY;
        int any_status = 0, status_ok = 0, any_type = 0, type_ok = 0;
        for (size_t q = 0; ok && q < req->nquery; q++) {
            const char *k = req->query[q].key, *v = req->query[q].value;
            if (strcmp(k, "status") == 0) {
                any_status = 1;
                status_ok |= status_matches(v, m->status);
            } else if (strcmp(k, "template_type") == 0) {
                any_type = 1;
                type_ok |= strcmp(v, m->type) == 0;
            }
        }
        ok = ok && (!any_status || status_ok) && (!any_type || type_ok);
        ok = ok && (!ref || (m->reference && strcmp(ref, m->reference) == 0));
        if (ok) {
            json_array_append_new(list, notification_json(ctx, base, m));
            snprintf(last_id, sizeof last_id, "%s", m->id);
        }
    }
    sim_store_unlock(ctx->store);

    /* Notify links the next page whenever this one is not empty. */
    json_t *links = json_pack("{s:s}", "current", current);
    if (links && last_id[0]) {
        snprintf(next, sizeof next, "%s", current);
        append_query(next, sizeof next, "older_than", last_id);
        json_object_set_new(links, "next", json_string(next));
    }
    sim_reply_json(out, 200,
                   links ? json_pack("{s:o, s:o}", "notifications", list, "links", links) : NULL);
    if (!links)
        json_decref(list);
}

void sim_notify_handle(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out)
{
    const char *p = req->path;
    int post = strcmp(req->method, "POST") == 0, get = strcmp(req->method, "GET") == 0;
    sim_auth_result_t auth = sim_notify_auth(req->authorization, ctx->cfg->notify_service_id,
                                             ctx->cfg->notify_secret, req->now_ms / 1000);

    out->gateway = "notify";
    if (auth.status) {
        sim_notify_error(out, auth.status, "AuthError", auth.message);
        return;
    }
    if (post && strcmp(p, "/v2/notifications/sms") == 0)
        send_notification(ctx, req, 1, out);
    else if (post && strcmp(p, "/v2/notifications/email") == 0)
        send_notification(ctx, req, 0, out);
    else if (get && strcmp(p, "/v2/notifications") == 0)
        get_list(ctx, req, out);
    else if (get && strncmp(p, "/v2/notifications/", 18) == 0 && !strchr(p + 18, '/'))
        get_one(ctx, req, p + 18, out);
    else if (strcmp(p, "/v2/notifications/letter") == 0)
        sim_notify_error(out, 400, "BadRequestError",
                         "Cannot send letters: the simulator has no letter service");
    else
        sim_notify_error(out, 404, "NoResultFound",
                         "The requested URL was not found on the server.");
    out->gateway = "notify";
}
