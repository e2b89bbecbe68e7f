/* main.c - rollcall-reports: aggregates for SLT, trusts and LAs, serves them
 * over HTTP, and feeds LA subscribers. */
#include <stdlib.h>
#include <time.h>

#include "common/feed.h"
#include "common/http.h"
#include "reports/lafeed.h"
#include "reports/reports_api.h"
#include "reports/reports_config.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* open_la_sockets makes sure the ZAP handler runs and asks lf about LA keys,
 * then binds the CURVE XPUB and ROUTER (libzmq lets every client in while
 * no handler is bound). */
static rc_err_t open_la_sockets(service_t *svc, const reports_config_t *cfg, lafeed_t *lf,
                                void **la_pub, void **replay)
{
    if (service_zap(svc, lafeed_zap_admit, lf) != RC_OK)
        return RC_EIO;
    if (!(*la_pub = service_socket(svc, ZMQ_XPUB)) ||
        lafeed_listen(*la_pub, cfg->la_curve_secret, cfg->la_pub_endpoint) != RC_OK)
        return RC_EIO;
    if (!(*replay = service_socket(svc, ZMQ_ROUTER)) ||
        lafeed_listen(*replay, cfg->la_curve_secret, cfg->la_replay_endpoint) != RC_OK)
        return RC_EIO;
    return RC_OK;
}

int main(int argc, char **argv)
{
    reports_config_t cfg = {0};
    service_t *svc = NULL;
    reports_tokens_t *tokens = NULL;
    reports_api_t *api = NULL;
    http_server_t *http = NULL;
    lafeed_clients_t *clients = NULL;
    lafeed_t *lf = NULL;
    feed_t *feed = NULL;
    void *sub, *la_pub = NULL, *replay = NULL;
    zmq_pollitem_t items[5];
    char la_pub_at[SERVICE_ENDPOINT_MAX] = "", replay_at[SERVICE_ENDPOINT_MAX] = "";
    char err[REPORTS_ERR_MAX], cerr[LAFEED_ERR_MAX];
    int status = EXIT_FAILURE;

    if (!service_configure(&reports_service, &cfg, argc, argv, &status))
        return status;
    if (service_log_open(&reports_service, &cfg) != RC_OK)
        goto out;
    if (reports_tokens_load(cfg.tokens_file, &tokens, err) != RC_OK) {
        log_error("reports.tokens_refused", LOG_STR("file", cfg.tokens_file), LOG_STR("why", err));
        goto out;
    }
    if (!reports_tokens_count(tokens))
        log_warn("reports.no_tokens",
                 LOG_STR("why", "no tokens_file or no tokens in it: every API request gets 401"));
    if (lafeed_clients_load(cfg.la_clients_file, &clients, cerr) != RC_OK) {
        log_error("lafeed.clients_refused", LOG_STR("file", cfg.la_clients_file),
                  LOG_STR("why", cerr));
        goto out;
    }
    if (!(svc = service_new(&cfg.common)))
        goto out;
    if (!(sub = service_connect(svc, ZMQ_SUB, cfg.rules_endpoints, NULL)))
        goto out;
    if (!(lf = lafeed_new(service_redis(svc), clients)) || lafeed_install(lf) != RC_OK)
        goto out;
    if (cfg.la_curve_secret[0]) {
        if (open_la_sockets(svc, &cfg, lf, &la_pub, &replay) != RC_OK)
            goto out;
        lafeed_set_pub(lf, la_pub);
        service_endpoint(la_pub, la_pub_at, sizeof la_pub_at);
        service_endpoint(replay, replay_at, sizeof replay_at);
        if (!lafeed_clients_count(clients))
            log_warn("lafeed.no_clients",
                     LOG_STR("why", "no la_clients_file or no clients in it: every LA is refused"));
    } else {
        log_warn("lafeed.closed", LOG_STR("why", "no la_curve_secret: referrals are logged in "
                                                 "Redis but no LA socket is opened"));
    }
    if (!(feed = feed_new_from(service_redis(svc), sub, &feed_source_outbox, lafeed_apply, lf)))
        goto out;
    feed_set_stopping(feed, service_stopping);
    if (feed_follow_all(feed, lafeed_position) != RC_OK) {
        log_error("lafeed.follow_failed", LOG_STR("why", "the SUB socket refused a subscription"));
        goto out;
    }
    if (!(api = reports_api_new(service_redis(svc), &cfg.common, tokens)))
        goto out;
    http_server_config_t hc = {.bind = cfg.http_bind,
                               .port = cfg.http_port,
                               .timeout_ms = 30000,
                               .max_connections = 256,
                               .max_body = 4096,
                               .too_big_hint = "the API is read-only",
                               .handler = reports_api_handle,
                               .ctx = api};
    if (!(http = http_server_new(&hc)))
        goto out;
    log_info("service.ready", LOG_STR("version", config_version()),
             LOG_STR("sub", cfg.rules_endpoints), LOG_STR("la_pub", la_pub_at),
             LOG_STR("la_replay", replay_at),
             LOG_INT("la_clients", (int64_t)lafeed_clients_count(clients)),
             LOG_STR("http_bind", cfg.http_bind), LOG_INT("http_port", http_server_port(http)),
             LOG_INT("tokens", (int64_t)reports_tokens_count(tokens)));
    feed_catch_up(feed);

    int64_t next_tail = now_ms() + 1000, next_scan = now_ms() + 10000;
    while (!service_stopping()) {
        long wait = http_server_timeout_ms(http);
        if (wait < 0 || wait > SERVICE_POLL_MS)
            wait = SERVICE_POLL_MS;
        int n = 0;
        items[n++] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
        items[n++] =
            (zmq_pollitem_t){.socket = NULL, .fd = http_server_fd(http), .events = ZMQ_POLLIN};
        if (la_pub) {
            items[n++] = (zmq_pollitem_t){.socket = la_pub, .events = ZMQ_POLLIN};
            items[n++] = (zmq_pollitem_t){.socket = replay, .events = ZMQ_POLLIN};
        }
        if (zmq_poll(items, n, wait) < 0 && zmq_errno() != EINTR) {
            log_error("zmq.poll_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
            goto out;
        }
        if (items[0].revents & ZMQ_POLLIN)
            feed_on_readable(feed);
        http_server_run(http);
        if (la_pub) {
            if (items[2].revents & ZMQ_POLLIN)
                lafeed_on_subscribe(lf, la_pub);
            if (items[3].revents & ZMQ_POLLIN)
                lafeed_on_replay(lf, replay);
        }
        int64_t now = now_ms();
        if (now >= next_tail) { /* the live path may have lost the last events */
            service_redis_revive(&cfg.common, service_redis(svc));
            feed_check_tail(feed);
            next_tail = now + 1000;
        }
        if (now >= next_scan) { /* schools whose every live message was lost */
            feed_catch_up(feed);
            next_scan = now + 10000;
        }
    }
    status = EXIT_SUCCESS;
out:
    if (api) {
        reports_api_stats_t st;
        reports_api_stats(api, &st);
        log_info("reports.http_stats", LOG_INT("ok", (int64_t)st.ok),
                 LOG_INT("unauthorised", (int64_t)st.unauthorised),
                 LOG_INT("forbidden", (int64_t)st.forbidden),
                 LOG_INT("other_4xx", (int64_t)st.other_4xx),
                 LOG_INT("unavailable", (int64_t)st.unavailable));
    }
    if (lf) {
        lafeed_stats_t ls;
        lafeed_stats(lf, &ls);
        log_info("lafeed.stats", LOG_INT("referrals", (int64_t)ls.referrals),
                 LOG_INT("duplicates", (int64_t)ls.duplicates),
                 LOG_INT("published", (int64_t)ls.published),
                 LOG_INT("clients_in", (int64_t)ls.zap_ok),
                 LOG_INT("clients_refused", (int64_t)ls.zap_refused),
                 LOG_INT("subscribed", (int64_t)ls.subscribed),
                 LOG_INT("subscriptions_refused", (int64_t)ls.sub_refused),
                 LOG_INT("replays", (int64_t)ls.replays),
                 LOG_INT("replay_errors", (int64_t)ls.replay_errors));
    }
    http_server_destroy(&http);
    feed_destroy(&feed);
    reports_api_destroy(&api);
    service_destroy(&svc); /* first: its ZAP thread may be asking lf and the clients */
    lafeed_destroy(&lf);
    reports_tokens_destroy(&tokens);
    lafeed_clients_destroy(&clients);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(reports_service.table, &cfg);
    log_close();
    return status;
}
