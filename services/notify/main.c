/* main.c - rollcall-notify: sends the SMS, email and letters that stage
 * changes and alerts ask for, exactly once each. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/feed.h"
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
    if (follow(feed, n, &cfg) != RC_OK) {
        log_error("notify.follow_failed", LOG_STR("schools", cfg.schools));
        goto out;
    }
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("sub", cfg.rules_endpoints),
             LOG_STR("pub", service_endpoint(pub, pub_at, sizeof pub_at)),
             LOG_INT("templates", (int64_t)template_set_count(templates)),
             LOG_STR("clock", cfg.clock == NOTIFY_CLOCK_REPLAY ? "replay" : "wall"));
    feed_catch_up(feed);

    int64_t next_tail = now_ms() + 1000, next_scan = now_ms() + 10000;
    while (!service_stopping()) {
        zmq_pollitem_t items[MAX_ITEMS];
        long wait;
        items[0] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
        int nitems = 1 + notify_poll_items(n, items + 1, MAX_ITEMS - 1, &wait);
        if (zmq_poll(items, nitems, wait) < 0 && zmq_errno() != EINTR) {
            log_error("zmq.poll_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
            goto out;
        }
        if (items[0].revents & ZMQ_POLLIN)
            feed_on_readable(feed);
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
