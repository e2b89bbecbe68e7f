/* main.c - rollcall-reports: aggregates for SLT, trusts and LAs, serves them
 * over HTTP, and feeds LA subscribers. */
#include <stdlib.h>

#include "common/http.h"
#include "reports/reports_api.h"
#include "reports/reports_config.h"

int main(int argc, char **argv)
{
    reports_config_t cfg = {0};
    service_t *svc = NULL;
    reports_tokens_t *tokens = NULL;
    reports_api_t *api = NULL;
    http_server_t *http = NULL;
    void *sub, *la_pub;
    zmq_pollitem_t items[2];
    char la_pub_at[SERVICE_ENDPOINT_MAX], err[REPORTS_ERR_MAX];
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
    if (!(svc = service_new(&cfg.common)))
        goto out;
    if (!(sub = service_connect(svc, ZMQ_SUB, cfg.rules_endpoints, "")))
        goto out;
    if (!(la_pub = service_bind(svc, ZMQ_PUB, cfg.la_pub_endpoint)))
        goto out;
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
             LOG_STR("sub", cfg.rules_endpoints),
             LOG_STR("la_pub", service_endpoint(la_pub, la_pub_at, sizeof la_pub_at)),
             LOG_STR("http_bind", cfg.http_bind), LOG_INT("http_port", http_server_port(http)),
             LOG_INT("tokens", (int64_t)reports_tokens_count(tokens)));

    while (!service_stopping()) {
        long wait = http_server_timeout_ms(http);
        if (wait < 0 || wait > SERVICE_POLL_MS)
            wait = SERVICE_POLL_MS;
        items[0] = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
        items[1] =
            (zmq_pollitem_t){.socket = NULL, .fd = http_server_fd(http), .events = ZMQ_POLLIN};
        if (zmq_poll(items, 2, wait) < 0 && zmq_errno() != EINTR) {
            log_error("zmq.poll_failed", LOG_STR("error", zmq_strerror(zmq_errno())));
            goto out;
        }
        if (items[0].revents & ZMQ_POLLIN)
            service_drain(sub); /* until the aggregation handler lands */
        http_server_run(http);
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
    http_server_destroy(&http);
    reports_api_destroy(&api);
    service_destroy(&svc);
    reports_tokens_destroy(&tokens);
    log_info("service.stopped", LOG_INT("status", status));
    config_wipe_secrets(reports_service.table, &cfg);
    log_close();
    return status;
}
