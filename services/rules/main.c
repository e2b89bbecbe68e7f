/* main.c - rollcall-rules: keeps pupils' attendance state and runs each school's policy. */
#define _DEFAULT_SOURCE /* struct tm's tm_gmtoff */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/feed.h"
#include "rules/rules.h"

/* follow subscribes the feed to the schools this worker owns. */
static rc_err_t follow(feed_t *feed, rules_t *rules, const rules_config_t *cfg)
{
    if (!cfg->schools[0])
        return feed_follow_all(feed, rules_position);
    char list[RULES_SCHOOLS_MAX];
    snprintf(list, sizeof list, "%s", cfg->schools);
    for (char *save = NULL, *urn = strtok_r(list, ", ", &save); urn;
         urn = strtok_r(NULL, ", ", &save)) {
        uint64_t pos;
        rc_err_t err = rules_position(rules, urn, &pos);
        if (err == RC_OK)
            err = feed_follow(feed, urn, pos);
        if (err != RC_OK)
            return err;
    }
    return RC_OK;
}

/* rewind hands a lost run back to the feed; a rules_rewind_fn. */
static void rewind_feed(void *feed, const char *urn, uint64_t position)
{
    feed_rewind(feed, urn, position);
}

/* wall_clock ticks rules with the time in London (wall mode only). */
static void wall_clock(rules_t *rules)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec;
    localtime_r(&t, &tm); /* TZ is Europe/London: see main */
    rules_clock(rules, (rc_time_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, (int32_t)tm.tm_gmtoff);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    rules_config_t cfg = {0};
    service_t *svc = NULL;
    rules_t *rules = NULL;
    feed_t *feed = NULL;
    void *sub, *pub;
    redisContext *wr = NULL;
    zmq_pollitem_t items[1];
    char pub_at[SERVICE_ENDPOINT_MAX];
    int status = EXIT_FAILURE;

    if (!service_configure(&rules_service, &cfg, argc, argv, &status))
        return status;
    setenv("TZ", "Europe/London", 1); /* SPEC section 6: school time is London's */
    tzset();
    if (service_log_open(&rules_service, &cfg) != RC_OK)
        goto out;
    if (!(svc = service_new(&cfg.common)))
        goto out;
    if (!(sub = service_connect(svc, ZMQ_SUB, cfg.ingest_endpoints, NULL)))
        goto out;
    if (!(pub = service_bind(svc, ZMQ_PUB, cfg.pub_endpoint)))
        goto out;
    if (!(wr = service_redis_open(svc))) /* rules' transactions: see rules.h */
        goto out;
    if (!(rules = rules_new(&cfg, service_redis(svc), wr, pub)))
        goto out;
    if (!(feed = feed_new(service_redis(svc), sub, rules_apply, rules)))
        goto out;
    rules_on_rewind(rules, rewind_feed, feed);
    feed_set_stopping(feed, service_stopping);
    if (follow(feed, rules, &cfg) != RC_OK) {
        log_error("rules.follow_failed", LOG_STR("schools", cfg.schools));
        goto out;
    }
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("worker_id", cfg.worker_id), LOG_STR("schools", cfg.schools),
             LOG_STR("clock", cfg.clock == RULES_CLOCK_REPLAY ? "replay" : "wall"),
             LOG_STR("policies_dir", cfg.policies_dir), LOG_STR("sub", cfg.ingest_endpoints),
             LOG_STR("pub", service_endpoint(pub, pub_at, sizeof pub_at)));

    feed_catch_up(feed); /* the backlog; a failure is retried by the loop below */
    rules_flush(rules);

    items[0] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
    int64_t next_tail = now_ms() + 1000, next_scan = now_ms() + 10000;
    while (!service_stopping()) {
        if (service_poll(svc, items, 1) < 0)
            goto out;
        if (items[0].revents & ZMQ_POLLIN) {
            feed_on_readable(feed);
            rules_flush(rules);
        }
        int64_t now = now_ms();
        if (now >= next_tail) { /* the live path may have lost the last messages */
            service_redis_revive(&cfg.common, service_redis(svc)); /* after a Redis restart */
            service_redis_revive(&cfg.common, wr);
            feed_check_tail(feed);
            rules_flush(rules);
            if (cfg.clock == RULES_CLOCK_WALL)
                wall_clock(rules);
            next_tail = now + 1000;
        }
        if (now >= next_scan) { /* schools new since start, and anything held */
            feed_catch_up(feed);
            rules_flush(rules);
            next_scan = now + 10000;
        }
    }
    status = EXIT_SUCCESS;
out:
    if (rules && rules_flush(rules) != RC_OK)
        status = EXIT_FAILURE;
    feed_destroy(&feed);
    rules_destroy(&rules);
    if (wr)
        redisFree(wr);
    service_destroy(&svc);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(rules_service.table, &cfg);
    log_close();
    return status;
}
