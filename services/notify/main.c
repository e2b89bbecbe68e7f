/* main.c - rollcall-notify: sends the SMS, email and letters that stage
 * changes and alerts ask for, exactly once each. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/feed.h"
#include "common/http.h"
#include "notify/notify.h"

#define MAX_ITEMS 64

/* follow subscribes the feed to the outboxes of the schools this process owns. */
static rc_err_t follow(feed_t *feed, notify_t *n, const notify_config_t *cfg)
{
    if (!cfg->schools[0])
        return feed_follow_all(feed, notify_position);
    char list[NOTIFY_SCHOOLS_MAX];
    snprintf(list, sizeof list, "%s", cfg->schools);
    for (char *save = NULL, *urn = strtok_r(list, ", ", &save); urn;
         urn = strtok_r(NULL, ", ", &save)) {
        uint64_t pos;
        rc_err_t err = notify_position(n, urn, &pos);
        if (err == RC_OK)
            err = feed_follow(feed, urn, pos);
        if (err != RC_OK)
            return err;
    }
    return RC_OK;
}

/* ---- delivery receipts ---- */

typedef struct {
    notify_t *n;
    const notify_config_t *cfg;
} receipts_t;

/* token_ok compares a presented secret with ours in constant time. */
static int token_ok(const char *given, const char *ours)
{
    size_t a = given ? strlen(given) : 0, b = strlen(ours);
    if (!b || a != b)
        return 0;
    return sodium_memcmp(given, ours, b) == 0;
}

static void answer(http_response_t *out, int status, const char *json)
{
    out->status = status;
    out->body = strdup(json);
}

/* on_receipt answers GOV.UK Notify's callbacks (POST /v1/receipts/notify,
 * the bearer token checked) and Twilio's status callbacks (POST
 * /v1/receipts/twilio/<token>?ref=<our reference>). */
static void on_receipt(void *ctx, const http_request_t *req, http_response_t *out)
{
    receipts_t *rc = ctx;
    const char *twilio = "/v1/receipts/twilio/";
    gateway_receipt_t r;
    const char *ref = NULL;
    if (strcmp(req->method, "POST") != 0) {
        out->allow = "POST";
        answer(out, 405, "{\"error\":\"receipts are POSTed\"}");
        return;
    }
    if (strcmp(req->url, "/v1/receipts/notify") == 0) {
        const char *auth = req->authorization;
        if (!auth || strncmp(auth, "Bearer ", 7) != 0 ||
            !token_ok(auth + 7, rc->cfg->callback_token)) {
            answer(out, 401, "{\"error\":\"a bearer token is needed\"}");
            return;
        }
        if (gateway_notify_receipt(req->body, req->len, &r) != RC_OK) {
            answer(out, 400, "{\"error\":\"not a GOV.UK Notify callback\"}");
            return;
        }
        ref = r.reference;
    } else if (strncmp(req->url, twilio, strlen(twilio)) == 0) {
        if (!token_ok(req->url + strlen(twilio), rc->cfg->callback_token)) {
            answer(out, 401, "{\"error\":\"unknown callback address\"}");
            return;
        }
        if (gateway_twilio_receipt(req->body, req->len, &r) != RC_OK) {
            answer(out, 400, "{\"error\":\"not a Twilio status callback\"}");
            return;
        }
        ref = http_request_arg(req, "ref");
    } else {
        answer(out, 404, "{\"error\":\"POST /v1/receipts/notify or /v1/receipts/twilio/...\"}");
        return;
    }
    rc_err_t err = notify_receipt(rc->n, ref, &r);
    if (err == RC_OK)
        answer(out, 200, "{}");
    else if (err == RC_ENOTFOUND)
        answer(out, 404, "{\"error\":\"no such message\"}");
    else
        answer(out, 503, "{\"error\":\"try again\"}");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    notify_config_t cfg = {0};
    service_t *svc = NULL;
    redisContext *wr = NULL;
    template_set_t *templates = NULL;
    notify_t *n = NULL;
    feed_t *feed = NULL;
    http_server_t *http = NULL;
    receipts_t receipts;
    void *sub, *pub;
    char pub_at[SERVICE_ENDPOINT_MAX], err[TEMPLATE_ERR_MAX];
    int status = EXIT_FAILURE;

    if (!service_configure(&notify_service, &cfg, argc, argv, &status))
        return status;
    setenv("TZ", "Europe/London", 1); /* quiet hours are London's */
    tzset();
    if (service_log_open(&notify_service, &cfg) != RC_OK)
        goto out;
    if (!(svc = service_new(&cfg.common)))
        goto out;
    if (template_set_load(cfg.templates_dir, &templates, err) != RC_OK) {
        log_error("notify.templates_refused", LOG_STR("dir", cfg.templates_dir),
                  LOG_STR("why", err));
        goto out;
    }
    if (!(wr = service_redis_open(svc)))
        goto out;
    if (!(sub = service_connect(svc, ZMQ_SUB, cfg.rules_endpoints, NULL)))
        goto out;
    if (!(pub = service_bind(svc, ZMQ_PUB, cfg.pub_endpoint)))
        goto out;
    if (!(n = notify_new(&cfg, service_redis(svc), wr, pub, templates)))
        goto out;
    if (notify_install(n) != RC_OK)
        goto out;
    if (!(feed = feed_new_from(service_redis(svc), sub, &feed_source_outbox, notify_apply, n)))
        goto out;
    feed_set_stopping(feed, service_stopping);
    if (cfg.http_port) {
        receipts = (receipts_t){.n = n, .cfg = &cfg};
        http_server_config_t hc = {.bind = cfg.http_bind,
                                   .port = cfg.http_port,
                                   .timeout_ms = 10000,
                                   .max_connections = 256,
                                   .max_body = 64 * 1024,
                                   .too_big_hint = "a receipt is small",
                                   .handler = on_receipt,
                                   .ctx = &receipts};
        if (!(http = http_server_new(&hc)))
            goto out;
        if (!cfg.callback_token[0])
            log_warn("notify.receipts_refused",
                     LOG_STR("why", "no callback_token: every receipt is refused"));
    }
    if (follow(feed, n, &cfg) != RC_OK) {
        log_error("notify.follow_failed", LOG_STR("schools", cfg.schools));
        goto out;
    }
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("sub", cfg.rules_endpoints),
             LOG_STR("pub", service_endpoint(pub, pub_at, sizeof pub_at)),
             LOG_INT("templates", (int64_t)template_set_count(templates)),
             LOG_STR("clock", cfg.clock == NOTIFY_CLOCK_REPLAY ? "replay" : "wall"),
             LOG_INT("http_port", http ? http_server_port(http) : 0));
    feed_catch_up(feed);

    int64_t next_tail = now_ms() + 1000, next_scan = now_ms() + 10000;
    while (!service_stopping()) {
        zmq_pollitem_t items[MAX_ITEMS];
        long wait;
        items[0] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
        int nitems = 1;
        if (http) {
            items[nitems++] =
                (zmq_pollitem_t){.socket = NULL, .fd = http_server_fd(http), .events = ZMQ_POLLIN};
            long hw = http_server_timeout_ms(http);
            nitems += notify_poll_items(n, items + nitems, MAX_ITEMS - nitems, &wait);
            if (hw >= 0 && hw < wait)
                wait = hw;
        } else {
            nitems += notify_poll_items(n, items + nitems, MAX_ITEMS - nitems, &wait);
        }
        if (zmq_poll(items, nitems, wait) < 0 && zmq_errno() != EINTR) {
            log_error("zmq.poll_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
            goto out;
        }
        if (items[0].revents & ZMQ_POLLIN)
            feed_on_readable(feed);
        if (http)
            http_server_run(http);
        notify_run(n);
        int64_t now = now_ms();
        if (now >= next_tail) { /* the live path may have lost the last events */
            service_redis_revive(&cfg.common, service_redis(svc));
            service_redis_revive(&cfg.common, wr);
            feed_check_tail(feed);
            next_tail = now + 1000;
        }
        if (now >= next_scan) {
            feed_catch_up(feed);
            next_scan = now + 10000;
        }
    }
    status = EXIT_SUCCESS;
out:
    http_server_destroy(&http);
    feed_destroy(&feed);
    notify_destroy(&n);
    if (wr)
        redisFree(wr);
    service_destroy(&svc);
    template_set_destroy(&templates);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(notify_service.table, &cfg);
    log_close();
    return status;
}
