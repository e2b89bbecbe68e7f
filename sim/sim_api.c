/* sim_api.c - routing, faults, and the /_sim/ inspection endpoints. */
#include "sim_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/log.h"
#include "sim_notify.h"
#include "sim_twilio.h"

void sim_reply_json(sim_response_t *out, int status, json_t *body)
{
    out->content_type = "application/json";
    if (!body) {
        out->status = 503;
        out->body = strdup("{\"error\":\"the simulator is out of memory\"}");
        return;
    }
    out->status = status;
    out->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
}

void sim_base_url(const sim_ctx_t *ctx, const sim_request_t *req, char *out, size_t cap)
{
    if (req->host && *req->host && !strpbrk(req->host, "/\"\\ "))
        snprintf(out, cap, "http://%s", req->host);
    else
        snprintf(out, cap, "http://%s", ctx->cfg->bind);
}

const char *sim_query(const sim_request_t *req, const char *key)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].key, key) == 0)
            return req->query[i].value;
    return NULL;
}

int sim_take_fault(const sim_ctx_t *ctx, const char *method, const char *path, sim_fault_t *out)
{
    if (!sim_faults_take(ctx->faults, method, path, out))
        return 0;
    log_info("sim.fault", LOG_STR("kind", sim_fault_kind_name(out->kind)),
             LOG_STR("method", method), LOG_STR("path_prefix", out->path),
             LOG_INT("status", out->status));
    return 1;
}

static void sim_error(sim_response_t *out, int status, const char *message)
{
    sim_reply_json(out, status, json_pack("{s:s}", "error", message));
}

static void post_faults(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out)
{
    json_t *in = json_loadb(req->body, req->body_len, 0, NULL), *one = NULL;
    sim_fault_t *parsed = NULL;
    size_t n = 0;
    char err[300];

    if (json_is_object(in)) {
        one = json_array();
        json_array_append(one, in);
        json_decref(in);
        in = one;
    }
    if (!json_is_array(in) || json_array_size(in) == 0) {
        sim_error(out, 400,
                  "expected a fault object, or a non-empty array of them (sim/README.md)");
        goto out;
    }
    if (!(parsed = calloc(json_array_size(in), sizeof *parsed))) {
        sim_reply_json(out, 503, NULL);
        goto out;
    }
    for (n = 0; n < json_array_size(in); n++)
        if (sim_fault_parse(json_array_get(in, n), &parsed[n], err, sizeof err) != RC_OK) {
            char msg[400];
            snprintf(msg, sizeof msg, "fault %zu: %s", n, err);
            sim_error(out, 400, msg);
            goto out;
        }
    for (size_t i = 0; i < n; i++)
        if (sim_faults_push(ctx->faults, &parsed[i]) != RC_OK) {
            sim_reply_json(out, 503, NULL);
            goto out;
        }
    log_info("sim.faults_queued", LOG_INT("count", (long long)n));
    sim_reply_json(out, 201,
                   json_pack("{s:I, s:o}", "queued", (json_int_t)n, "pending",
                             sim_faults_pending(ctx->faults)));
out:
    free(parsed);
    json_decref(in);
}

static void handle_sim(const sim_ctx_t *ctx, const sim_request_t *req, sim_response_t *out)
{
    const char *p = req->path, *m = req->method;
    int get = strcmp(m, "GET") == 0, del = strcmp(m, "DELETE") == 0;

    out->gateway = "sim";
    if (strcmp(p, "/_sim/faults") == 0 && strcmp(m, "POST") == 0) {
        post_faults(ctx, req, out);
    } else if (strcmp(p, "/_sim/faults") == 0 && get) {
        sim_reply_json(out, 200,
                       json_pack("{s:o, s:I}", "pending", sim_faults_pending(ctx->faults),
                                 "consumed", (json_int_t)sim_faults_consumed(ctx->faults)));
    } else if (strcmp(p, "/_sim/faults") == 0 && del) {
        sim_reply_json(out, 200,
                       json_pack("{s:I}", "cleared", (json_int_t)sim_faults_clear(ctx->faults)));
    } else if (strcmp(p, "/_sim/messages") == 0 && get) {
        sim_reply_json(out, 200, sim_store_messages_json(ctx->store));
    } else if (strcmp(p, "/_sim/messages") == 0 && del) {
        sim_reply_json(out, 200,
                       json_pack("{s:I}", "cleared", (json_int_t)sim_store_clear(ctx->store)));
    } else if (strcmp(p, "/_sim/stats") == 0 && get) {
        json_t *s = sim_store_stats_json(ctx->store);
        json_t *pending = sim_faults_pending(ctx->faults);
        if (s && pending) {
            json_object_set_new(s, "faults",
                                json_pack("{s:I, s:I}", "consumed",
                                          (json_int_t)sim_faults_consumed(ctx->faults), "pending",
                                          (json_int_t)json_array_size(pending)));
            json_object_set_new(
                s, "receipts_pending",
                json_integer(ctx->deliver ? (json_int_t)sim_deliver_pending(ctx->deliver) : 0));
        }
        json_decref(pending);
        sim_reply_json(out, 200, s);
    } else if (strcmp(p, "/_sim/health") == 0 && get) {
        sim_reply_json(out, 200, json_pack("{s:b}", "ok", 1));
    } else {
        sim_error(out, 404,
                  "no such simulator endpoint: /_sim/faults (POST, GET, DELETE), "
                  "/_sim/messages (GET, DELETE), /_sim/stats, /_sim/health");
    }
}

void sim_handle(const sim_ctx_t *ctx, const sim_request_t *req, const sim_fault_t *fault,
                sim_response_t *out)
{
    int notify = strncmp(req->path, "/v2/", 4) == 0;
    int twilio = strncmp(req->path, "/2010-04-01/", 12) == 0;

    memset(out, 0, sizeof *out);
    out->retry_after_s = -1;
    out->gateway = notify ? "notify" : twilio ? "twilio" : "other";
    if (fault && (fault->kind == SIM_FAULT_STATUS || fault->kind == SIM_FAULT_RETRY_AFTER)) {
        if (notify)
            sim_notify_error(out, fault->status, fault->error, fault->message);
        else if (twilio)
            sim_twilio_error(out, fault->status, atoi(fault->error), fault->message);
        else
            sim_error(out, fault->status, fault->message[0] ? fault->message : "injected fault");
        if (fault->kind == SIM_FAULT_RETRY_AFTER)
            out->retry_after_s = fault->retry_after_s;
        return;
    }
    if (fault && fault->kind == SIM_FAULT_RESET_BEFORE_RECEIVE) { /* sim_http resets earlier */
        out->action = SIM_ACT_DROP;
        return;
    }
    if (strncmp(req->path, "/_sim/", 6) == 0)
        handle_sim(ctx, req, out);
    else if (notify)
        sim_notify_handle(ctx, req, out);
    else if (twilio)
        sim_twilio_handle(ctx, req, out);
    else
        sim_error(out, 404,
                  "not a simulated gateway path: /v2/notifications... (GOV.UK Notify), "
                  "/2010-04-01/Accounts/{sid}/Messages... (Twilio), /_sim/...");
    if (fault && fault->kind == SIM_FAULT_SLOW)
        out->delay_ms = fault->delay_ms;
    if (fault && fault->kind == SIM_FAULT_DROP_AFTER_RECEIVE)
        out->action = SIM_ACT_DROP;
}
